package ai.armature.serving;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import ai.armature.protocol.TokenLogprob;
import ai.armature.serving.runner.KvLayout;
import ai.armature.serving.runner.ModelRunner;
import ai.armature.serving.runner.SampledToken;
import ai.armature.serving.runner.ScheduledSequence;

/**
 * A test runner that behaves like a real model where it matters for the scheduler: the "K/V" it writes into a slot
 * is a fingerprint of the whole context up to that position, and every step it reads the K/V of all positions of
 * each sequence back through the block table and fails if any slot does not hold exactly what that sequence
 * wrote (or shared through the prefix cache). Its next token is a function of the last fingerprint (and of one
 * draw from the request's generator when not greedy), so corrupted K/V would also change the output tokens.
 * kvBytesPerToken is 1, so a config's kvCacheMemoryBytes is the cache size in tokens. Blocks export as each slot's
 * fingerprint and written flag (9 bytes per slot), so K/V moved through tiers or between runners is checked too.
 */
final class CheckingRunner implements ModelRunner {

    /** One sequence's share of one step, as the runner saw it. */
    record Work(long sequenceId, int start, int count, boolean sample, int blocksInTable) {
    }

    final int vocab;
    final int maxContext;
    final int[] eos;
    int blockSize;
    long[] slotFingerprint;
    boolean[] slotWritten;
    final List<List<Work>> steps = new ArrayList<>();
    RuntimeException failNextStep;

    CheckingRunner(int vocab, int maxContext, int... eos) {
        this.vocab = vocab;
        this.maxContext = maxContext;
        this.eos = eos;
    }

    @Override
    public String modelName() {
        return "checking";
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int maxContextTokens() {
        return maxContext;
    }

    @Override
    public int[] endOfGenerationTokenIds() {
        return eos.clone();
    }

    @Override
    public long kvBytesPerToken() {
        return 1;
    }

    @Override
    public Optional<KvLayout> kvLayout() {
        return blockSize == 0 ? Optional.empty() : Optional.of(new KvLayout(modelName(), "checking-v1", "none", blockSize, 0, 0, 0, 9L * blockSize));
    }

    @Override
    public void exportBlock(int blockId, MemorySegment dst, long offset) {
        for (int i = 0; i < blockSize; i++) {
            int slot = blockId * blockSize + i;
            dst.set(ValueLayout.JAVA_LONG_UNALIGNED, offset + 9L * i, slotFingerprint[slot]);
            dst.set(ValueLayout.JAVA_BYTE, offset + 9L * i + 8, (byte) (slotWritten[slot] ? 1 : 0));
        }
    }

    @Override
    public void importBlock(MemorySegment src, long offset, int blockId) {
        for (int i = 0; i < blockSize; i++) {
            int slot = blockId * blockSize + i;
            slotFingerprint[slot] = src.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 9L * i);
            slotWritten[slot] = src.get(ValueLayout.JAVA_BYTE, offset + 9L * i + 8) != 0;
        }
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        this.blockSize = blockSize;
        slotFingerprint = new long[numBlocks * blockSize];
        slotWritten = new boolean[numBlocks * blockSize];
    }

    static long fingerprint(long previous, int token, int pos) {
        long z = previous * 0x9E3779B97F4A7C15L + token * 31L + pos + 1;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public SampledToken[] execute(List<ScheduledSequence> batch) {
        if (failNextStep != null) {
            RuntimeException e = failNextStep;
            failNextStep = null;
            throw e;
        }
        List<Work> seen = new ArrayList<>();
        SampledToken[] out = new SampledToken[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            ScheduledSequence s = batch.get(i);
            int end = s.start() + s.count();
            int tableBlocks = (end + blockSize - 1) / blockSize;
            seen.add(new Work(s.sequenceId(), s.start(), s.count(), s.sample(), tableBlocks));
            if (s.count() < 1 || end > s.length()) throw new AssertionError("bad chunk " + s.start() + "+" + s.count() + " of " + s.length());
            if (s.sample() && end != s.length()) throw new AssertionError("sampling before the end of the known tokens");
            // Read positions [0, start) and check them: what an attention kernel would read.
            long fp = 0;
            for (int p = 0; p < s.start(); p++) {
                fp = fingerprint(fp, s.tokens()[p], p);
                int slot = s.slot(p, blockSize);
                if (!slotWritten[slot] || slotFingerprint[slot] != fp) {
                    throw new AssertionError("sequence " + s.sequenceId() + " position " + p + " reads slot " + slot
                            + " which does not hold its K/V (corrupted or never written)");
                }
            }
            for (int p = s.start(); p < end; p++) {
                fp = fingerprint(fp, s.tokens()[p], p);
                int slot = s.slot(p, blockSize);
                slotFingerprint[slot] = fp;
                slotWritten[slot] = true;
            }
            if (s.sample()) {
                long h = fp;
                if (!s.sampling().greedy()) h = fingerprint(h, (int) s.random().nextLong(), end);
                int token = (int) Long.remainderUnsigned(h, vocab);
                while (contains(s.forbiddenTokens(), token)) token = (token + 1) % vocab;
                TokenLogprob lp = s.logprobs() >= 0 ? new TokenLogprob(token, -0.5f, new int[] {token}, new float[] {-0.5f}) : null;
                out[i] = new SampledToken(token, lp);
            }
        }
        steps.add(seen);
        return out;
    }

    private static boolean contains(int[] ids, int token) {
        if (ids == null) return false;
        for (int id : ids) if (id == token) return true;
        return false;
    }

    @Override
    public void close() {
    }
}
