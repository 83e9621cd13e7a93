package ai.armature.serving.runner;

import ai.armature.engine.model.ForwardBatch;
import ai.armature.engine.model.ForwardPass;
import ai.armature.engine.model.KvCache;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.sampling.Sampler;
import ai.armature.engine.tensor.Parallel;
import ai.armature.protocol.TokenLogprob;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The real runner: one batched forward pass of the built-in engine per step over a paged {@link KvCache}, then
 * sampling for the sequences that asked for a token. The model's weights are shared (several runners may use
 * one {@link LlamaModel}); the KV cache and the activation buffers are this runner's own.
 */
public final class LlamaModelRunner implements ModelRunner {

    private final LlamaModel model;
    private final String modelName;
    private final int[] endOfGeneration;
    private final KvDtype dtype;
    private final ForwardPass pass;
    private final Sampler sampler = new Sampler();
    private final TokenLogprob[] logprobOut = new TokenLogprob[1];
    private KvCache cache;
    private KvLayout layout;
    private float[] logits = new float[0];
    /** Rows of logits computed at once for prompt logprobs. */
    private static final int PROMPT_LOGIT_ROWS = 16;
    private float[] positionLogits = new float[0];

    private final Parallel.Pool pool;

    /** A runner whose kernels use the default pool (all cores). */
    public LlamaModelRunner(LlamaModel model, String modelName, int[] endOfGenerationTokenIds, KvDtype dtype) {
        this(model, modelName, endOfGenerationTokenIds, dtype, null);
    }

    /**
     * A runner whose kernels run on {@code pool} (null: the default pool); the runner owns it and closes it with
     * itself. Workers of one JVM each get their own, so their forward passes run at the same time.
     */
    public LlamaModelRunner(LlamaModel model, String modelName, int[] endOfGenerationTokenIds, KvDtype dtype, Parallel.Pool pool) {
        this.model = model;
        this.modelName = modelName;
        this.endOfGeneration = endOfGenerationTokenIds.clone();
        this.dtype = dtype;
        this.pool = pool;
        this.pass = new ForwardPass(model, pool);
    }

    @Override
    public String modelName() {
        return modelName;
    }

    @Override
    public int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public int maxContextTokens() {
        return model.config().contextLength();
    }

    @Override
    public int[] endOfGenerationTokenIds() {
        return endOfGeneration.clone();
    }

    @Override
    public long kvBytesPerToken() {
        return KvCache.bytesPerBlock(model.config(), 1, dtype);
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (cache != null) throw new IllegalStateException("the KV cache is already allocated");
        cache = new KvCache(model.config(), numBlocks, blockSize, dtype);
        layout = new KvLayout(modelName, LAYOUT_FORMAT, dtype.name().toLowerCase(Locale.ROOT), blockSize, cache.layers(),
                cache.kvHeads(), cache.headDim(), cache.blockBytes());
    }

    /**
     * Per block: for each layer, every KV head's keys (dimension-major, {@code blockSize} per dimension) then every
     * head's values (slot-major), as {@link KvCache} stores them.
     */
    static final String LAYOUT_FORMAT = "armature-paged-v1";

    @Override
    public Optional<KvLayout> kvLayout() {
        return Optional.ofNullable(layout);
    }

    @Override
    public void exportBlock(int blockId, MemorySegment dst, long offset) {
        if (cache == null) throw new IllegalStateException("the KV cache is not allocated");
        cache.copyBlockOut(blockId, dst, offset);
    }

    @Override
    public void importBlock(MemorySegment src, long offset, int blockId) {
        if (cache == null) throw new IllegalStateException("the KV cache is not allocated");
        cache.copyBlockIn(src, offset, blockId);
    }

    @Override
    public SampledToken[] execute(List<ScheduledSequence> batch) {
        int seqs = batch.size();
        int total = 0, sampling = 0;
        for (ScheduledSequence s : batch) {
            total += s.count();
            if (s.sample()) sampling++;
        }
        int[] tokens = new int[total];
        int[] tokenStart = new int[seqs + 1];
        int[] startPosition = new int[seqs];
        int[][] tables = new int[seqs][];
        boolean[] wantLogits = new boolean[seqs];
        for (int i = 0, t = 0; i < seqs; i++) {
            ScheduledSequence s = batch.get(i);
            System.arraycopy(s.tokens(), s.start(), tokens, t, s.count());
            tokenStart[i] = t;
            t += s.count();
            startPosition[i] = s.start();
            tables[i] = s.blockTable();
            wantLogits[i] = s.sample();
        }
        tokenStart[seqs] = total;
        int vocab = vocabSize();
        if (logits.length < sampling * vocab) logits = new float[sampling * vocab];
        ForwardBatch forward = new ForwardBatch(tokens, tokenStart, startPosition, tables, wantLogits);
        pass.forward(forward, cache, logits);
        for (int i = 0; i < seqs; i++) {
            ScheduledSequence s = batch.get(i);
            if (s.promptLogprobsOut() != null && s.start() < s.promptLength() - 1) promptLogprobs(forward, i, s);
        }

        SampledToken[] out = new SampledToken[seqs];
        for (int i = 0, row = 0; i < seqs; i++) {
            ScheduledSequence s = batch.get(i);
            if (!s.sample()) continue;
            logprobOut[0] = null;
            long[] mask = null;
            if (s.allowed() != null) {
                mask = s.allowed().await();
                if (s.allowed().count() == 0) {
                    out[i] = new SampledToken(-1, null);
                    row++;
                    continue;
                }
            }
            int token = sampler.sample(logits, row * vocab, vocab, s.sampling(), s.random(), s.tokens(), s.promptLength(), s.length(),
                    logprobOut, mask, s.forbiddenTokens());
            out[i] = new SampledToken(token, logprobOut[0]);
            row++;
        }
        return out;
    }

    /**
     * The logprobs of the prompt tokens that follow the chunk's positions, from the logits at every position,
     * computed a few rows at a time so a long chunk over a large vocabulary needs no huge buffer.
     */
    private void promptLogprobs(ForwardBatch forward, int index, ScheduledSequence s) {
        int vocab = vocabSize();
        if (positionLogits.length < PROMPT_LOGIT_ROWS * vocab) positionLogits = new float[PROMPT_LOGIT_ROWS * vocab];
        TokenLogprob[] out = s.promptLogprobsOut();
        int top = s.sampling().promptLogprobs();
        int[] tokens = s.tokens();
        int promptLength = s.promptLength();
        pass.positionLogits(forward, index, positionLogits, PROMPT_LOGIT_ROWS, (pos, rows, offset) -> {
            if (pos + 1 < promptLength) out[pos + 1] = Sampler.promptLogprob(rows, offset, vocab, tokens[pos + 1], top);
        });
    }

    @Override
    public void close() {
        if (cache != null) cache.close();
        if (pool != null) pool.close();
    }

    /** Threads this runner's kernels use. */
    public int kernelThreads() {
        return pool != null ? pool.threads() : Parallel.defaultPool().threads();
    }
}
