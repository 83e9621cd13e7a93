package ai.armature.serving.mock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Optional;

import ai.armature.protocol.TokenLogprob;
import ai.armature.serving.runner.KvLayout;
import ai.armature.serving.runner.ModelRunner;
import ai.armature.serving.runner.SampledToken;
import ai.armature.serving.runner.ScheduledSequence;

/**
 * A simulated model ("mocker"): does no math, takes the time its {@link MockProfile} predicts for each step (really
 * waiting, or advancing a {@link SimClock}), and emits deterministic pseudo-random tokens. Used with the real
 * scheduler and KV cache manager, it stands in for a GPU worker in tests and cluster simulations.
 *
 * <p>Tokens: the token after position p is a hash of (the token at p, p, and for non-greedy requests one draw
 * from the request's generator), so the same request gives the same tokens alone or in any batch, greedy requests
 * depend only on their context, and seeded requests on their seed. With probability
 * {@code profile.eosProbability()} (decided by the same hash) the token is the first end-of-generation id; other
 * tokens are never end-of-generation ids. A constrained sequence draws the same way among the tokens its mask
 * allows (end-of-generation only when allowed, and then with the same probability). Tokens a step forbids (stop and
 * end ids before {@code min_tokens}) are skipped the same way. Logprobs, when asked, are those of a model that is
 * certain: the chosen token has logprob 0 and is its own only alternative. Prompt logprobs follow the same model: at
 * each prompt position it is certain of the token it would generate greedily there, so a prompt token gets logprob 0
 * (rank 1) if it is that token and negative infinity (rank 2, behind it) otherwise, with that predicted token as the
 * only alternative.
 *
 * <p>KV blocks: the mocker stores no K/V, but it keeps one 64-bit fingerprint per block of the tokens and positions
 * computed into it, so blocks it exports and imports (KV tiers, transfers between workers) carry something
 * checkable. An exported block is {@code kvBytesPerToken * blockSize} bytes, the size the simulated model's block
 * would have: the fingerprint (little-endian, in the first 8 bytes) and zeros. Import takes the fingerprint back.
 */
public final class MockModelRunner implements ModelRunner {

    private final MockProfile profile;
    private final MockClock clock;
    private int numBlocks = -1;
    private int blockSize;
    private long[] blockTags;
    private KvLayout layout;
    private long steps;

    public MockModelRunner(MockProfile profile, MockClock clock) {
        this.profile = profile;
        this.clock = clock;
    }

    public MockProfile profile() {
        return profile;
    }

    public MockClock clock() {
        return clock;
    }

    /** Steps executed so far. */
    public long steps() {
        return steps;
    }

    @Override
    public long nanoTime() {
        return clock.nanoTime();
    }

    @Override
    public String modelName() {
        return "mock:" + profile.name();
    }

    @Override
    public int vocabSize() {
        return profile.vocabSize();
    }

    @Override
    public int maxContextTokens() {
        return profile.maxContextTokens();
    }

    @Override
    public int[] endOfGenerationTokenIds() {
        return profile.eosTokenIds().clone();
    }

    @Override
    public long kvBytesPerToken() {
        return profile.kvBytesPerToken();
    }

    @Override
    public long suggestedKvCacheBytes() {
        return profile.kvCacheBytes();
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (this.numBlocks >= 0) throw new IllegalStateException("the KV cache is already allocated");
        this.numBlocks = numBlocks; // a simulated GPU stores no K/V, only a fingerprint per block
        this.blockSize = blockSize;
        this.blockTags = new long[Math.min(numBlocks, 64)]; // grown on demand: ids are handed out lowest first
        this.layout = new KvLayout(modelName(), "mock-tag-v1", "none", blockSize, 0, 0, 0, profile.kvBytesPerToken() * blockSize);
    }

    @Override
    public Optional<KvLayout> kvLayout() {
        return Optional.ofNullable(layout);
    }

    /** The fingerprint of block {@code blockId}'s content (for tests). */
    public long blockTag(int blockId) {
        return blockId < blockTags.length ? blockTags[blockId] : 0;
    }

    private long[] tagsFor(int blockId) {
        java.util.Objects.checkIndex(blockId, numBlocks);
        if (blockId >= blockTags.length) blockTags = java.util.Arrays.copyOf(blockTags, Math.min(numBlocks, Math.max(blockId + 1, 2 * blockTags.length)));
        return blockTags;
    }

    @Override
    public void exportBlock(int blockId, MemorySegment dst, long offset) {
        long bytes = layout.blockBytes();
        long tag = blockTag(blockId);
        int head = (int) Math.min(8, bytes);
        for (int i = 0; i < head; i++) dst.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (tag >>> (8 * i)));
        if (bytes > head) dst.asSlice(offset + head, bytes - head).fill((byte) 0);
    }

    @Override
    public void importBlock(MemorySegment src, long offset, int blockId) {
        int head = (int) Math.min(8, layout.blockBytes());
        long tag = 0;
        for (int i = 0; i < head; i++) tag |= (src.get(ValueLayout.JAVA_BYTE, offset + i) & 0xFFL) << (8 * i);
        tagsFor(blockId)[blockId] = tag;
    }

    /** A mocker's block is its fingerprint: copied as such from another mocker, whatever the simulated block size. */
    @Override
    public void copyBlockFrom(ModelRunner source, int sourceBlock, int blockId) {
        if (!(source instanceof MockModelRunner m)) {
            ModelRunner.super.copyBlockFrom(source, sourceBlock, blockId);
            return;
        }
        tagsFor(blockId)[blockId] = m.blockTag(sourceBlock);
    }

    @Override
    public SampledToken[] execute(List<ScheduledSequence> batch) {
        if (numBlocks < 0) throw new IllegalStateException("allocateKvCache was not called");
        long start = clock.nanoTime();
        long tokens = 0, pairs = 0, kvRead = 0;
        SampledToken[] out = new SampledToken[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            ScheduledSequence s = batch.get(i);
            long c = s.count();
            tokens += c;
            pairs += c * s.start() + c * (c + 1) / 2;
            kvRead += s.start() + c;
            fingerprint(s);
            if (s.promptLogprobsOut() != null) promptLogprobs(s);
            if (s.sample()) out[i] = sample(s);
        }
        double seconds = profile.stepSeconds(tokens, pairs, kvRead);
        steps++;
        clock.sleepUntil(start + (long) (seconds * 1e9));
        return out;
    }

    private void fingerprint(ScheduledSequence s) {
        for (int p = s.start(), end = s.start() + s.count(); p < end; p++) {
            int b = s.blockTable()[p / blockSize];
            long[] tags = tagsFor(b);
            long previous = p % blockSize == 0 ? 0 : tags[b];
            tags[b] = mix(previous * 0x9E3779B97F4A7C15L + s.tokens()[p] * 31L + p);
        }
    }

    /** The token the mock generates greedily after {@code previous} at position {@code pos} (EOS aside). */
    private int greedyToken(int previous, int pos) {
        int token = (int) Long.remainderUnsigned(mix(previous * 0x9E3779B97F4A7C15L + pos), profile.vocabSize());
        while (contains(profile.eosTokenIds(), token)) token = (token + 1) % profile.vocabSize();
        return token;
    }

    private void promptLogprobs(ScheduledSequence s) {
        int top = s.sampling().promptLogprobs();
        for (int p = s.start(); p < s.start() + s.count() && p + 1 < s.promptLength(); p++) {
            int predicted = greedyToken(s.tokens()[p], p + 1);
            int actual = s.tokens()[p + 1];
            boolean hit = actual == predicted;
            s.promptLogprobsOut()[p + 1] = new TokenLogprob(actual, hit ? 0f : Float.NEGATIVE_INFINITY,
                    top == 0 ? new int[0] : new int[] {predicted}, top == 0 ? new float[0] : new float[] {0f}, hit ? 1 : 2);
        }
    }

    private SampledToken sample(ScheduledSequence s) {
        int pos = s.start() + s.count(); // the position of the token being chosen
        long h = mix(s.tokens()[pos - 1] * 0x9E3779B97F4A7C15L + pos);
        if (!s.sampling().greedy()) h = mix(h ^ s.random().nextLong());
        int token;
        double u = (mix(h ^ 0x5DEECE66DL) >>> 11) * 0x1.0p-53;
        int[] eos = profile.eosTokenIds();
        int[] forbidden = s.forbiddenTokens();
        if (s.allowed() != null) {
            token = constrained(s.allowed(), h, u, eos);
        } else if (u < profile.eosProbability() && !contains(forbidden, eos[0])) {
            token = eos[0];
        } else {
            token = (int) Long.remainderUnsigned(h, profile.vocabSize());
            while (contains(eos, token) || contains(forbidden, token)) token = (token + 1) % profile.vocabSize();
        }
        TokenLogprob lp = null;
        if (token < 0) return new SampledToken(-1, null);
        if (s.logprobs() >= 0) {
            lp = s.logprobs() == 0 ? new TokenLogprob(token, 0f, new int[0], new float[0])
                    : new TokenLogprob(token, 0f, new int[] {token}, new float[] {0f});
        }
        return new SampledToken(token, lp);
    }

    /** The hash's pick among the allowed tokens: an allowed end id with the EOS probability (or if nothing else is allowed). */
    private int constrained(ai.armature.serving.runner.AllowedTokens allowed, long h, double u, int[] eos) {
        long[] bits = allowed.await();
        if (allowed.count() == 0) return -1;
        int allowedEos = -1, others = 0;
        for (int w = 0; w < bits.length; w++) {
            long b = bits[w];
            while (b != 0) {
                int id = (w << 6) + Long.numberOfTrailingZeros(b);
                b &= b - 1;
                if (contains(eos, id)) {
                    if (allowedEos < 0) allowedEos = id;
                } else {
                    others++;
                }
            }
        }
        if (allowedEos >= 0 && (others == 0 || u < profile.eosProbability())) return allowedEos;
        long k = Long.remainderUnsigned(h, others);
        for (int w = 0; w < bits.length; w++) {
            long b = bits[w];
            while (b != 0) {
                int id = (w << 6) + Long.numberOfTrailingZeros(b);
                b &= b - 1;
                if (!contains(eos, id) && k-- == 0) return id;
            }
        }
        throw new IllegalStateException("unreachable");
    }

    private static boolean contains(int[] ids, int token) {
        if (ids == null) return false;
        for (int e : ids) if (e == token) return true;
        return false;
    }

    /** SplitMix64's finaliser: a fast, well-mixed 64-bit hash. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void close() {
        numBlocks = -1;
        blockTags = null;
    }
}
