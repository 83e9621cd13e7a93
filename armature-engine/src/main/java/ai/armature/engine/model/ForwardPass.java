package ai.armature.engine.model;

import ai.armature.engine.tensor.Parallel;
import ai.armature.engine.tensor.VectorOps;
import ai.armature.engine.tensor.WeightMatrix;

/**
 * Runs a {@link LlamaModel} over a {@link ForwardBatch}: one pass over all scheduled tokens of all sequences, so
 * each weight matrix is read once per step for the whole batch. Holds the activation buffers (reused across
 * calls, grown when a batch is larger), so one instance serves one thread; create one per worker.
 *
 * <p>Every token's result is independent of which other tokens share its batch and of how a prompt is chunked:
 * matrix products treat each token's vector on its own, and attention for a token reads exactly the positions up
 * to its own. Only rounding can differ (a single vector takes the kernels' fused path, several take the tiled
 * one), far below what changes a greedy choice in practice.
 */
public final class ForwardPass {

    /** Prompt tokens per attention task: each task reads its sequence's cached prefix once, tile by tile. */
    private static final int QUERY_CHUNK = 64;
    /** Key positions per tile of the prompt attention (rounded to whole KV blocks): 16 KiB of keys at head size 64. */
    private static final int KEY_TILE = 64;

    private final LlamaModel model;
    private final ModelConfig c;
    private final float attentionScale;
    private final ThreadLocal<AttentionScratch> attentionScratch;

    private int capacity;
    private float[] x, xb, xb2, q, k, v, att, hb, hb2, cos, sin, finalRows;
    private int[] positions;
    /** Per layer, the matrices that read one normed input: {wq, wk, wv} and {wGate, wUp} (one hand-off each). */
    private final WeightMatrix[][] qkv, gateUp;
    /** Their outputs, {q, k, v} and {hb, hb2}, re-pointed when the buffers grow. */
    private final float[][] qkvOut = new float[3][], gateUpOut = new float[2][];
    private int[] taskSeq = new int[0], taskHead = new int[0], taskFrom = new int[0], taskTo = new int[0];

    private final Parallel.Pool pool;

    /** A pass whose products run on the default pool (all cores). */
    public ForwardPass(LlamaModel model) {
        this(model, null);
    }

    /**
     * A pass whose products run on {@code pool} (null: the default pool), whichever thread calls {@link #forward}:
     * a serving worker that owns a share of the cores passes its own.
     */
    public ForwardPass(LlamaModel model, Parallel.Pool pool) {
        this.pool = pool;
        this.model = model;
        this.c = model.config();
        this.attentionScale = (float) (1.0 / Math.sqrt(c.headDim()));
        this.attentionScratch = ThreadLocal.withInitial(() -> new AttentionScratch(c.headDim()));
        this.qkv = new WeightMatrix[c.layers()][];
        this.gateUp = new WeightMatrix[c.layers()][];
        for (int l = 0; l < c.layers(); l++) {
            LayerWeights w = model.layer(l);
            qkv[l] = new WeightMatrix[] {w.wq(), w.wk(), w.wv()};
            gateUp[l] = new WeightMatrix[] {w.wGate(), w.wUp()};
        }
    }

    public LlamaModel model() {
        return model;
    }

    /**
     * Computes the batch, writing its K/V into {@code cache}, and the logits of the sequences that want them
     * into {@code logits} ({@code logitRows() * vocabSize} floats, row by row).
     *
     * @throws IllegalArgumentException for a token id outside the vocabulary or a position beyond the context
     */
    public void forward(ForwardBatch batch, KvCache cache, float[] logits) {
        Parallel.Pool previous = Parallel.bind(pool);
        try {
            int rows = finalHidden(batch, cache);
            if (rows > 0) model.output().matmul(finalRows, logits, rows);
        } finally {
            Parallel.bind(previous);
        }
    }

    /**
     * As {@link #forward}, but writes the final-normed hidden state (what the output projection would read) of the
     * last token of each sequence that wants logits into {@code out} ({@code logitRows() * dim} floats): what a
     * decoder model's embedding is pooled from.
     */
    public void hiddenStates(ForwardBatch batch, KvCache cache, float[] out) {
        Parallel.Pool previous = Parallel.bind(pool);
        try {
            int rows = finalHidden(batch, cache);
            System.arraycopy(finalRows, 0, out, 0, rows * c.dim());
        } finally {
            Parallel.bind(previous);
        }
    }

    /** Runs the batch through every layer and the final norm of the rows that want logits; returns their count. */
    private int finalHidden(ForwardBatch batch, KvCache cache) {
        int n = batch.tokenCount();
        ensureCapacity(n);
        int dim = c.dim();
        int seqs = batch.sequenceCount();
        for (int s = 0; s < seqs; s++) {
            int from = batch.tokenStart()[s], to = batch.tokenStart()[s + 1];
            int last = batch.startPosition()[s] + (to - from) - 1;
            if (batch.startPosition()[s] < 0 || last >= c.contextLength()) {
                throw new IllegalArgumentException("position " + last + " is beyond the model's context of " + c.contextLength());
            }
            if ((last / cache.blockSize()) >= batch.blockTables()[s].length) {
                throw new IllegalArgumentException("sequence " + s + " has no KV block for position " + last);
            }
            for (int t = from; t < to; t++) {
                int token = batch.tokens()[t];
                if (token < 0 || token >= c.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.." + (c.vocabSize() - 1) + ")");
                }
                positions[t] = batch.startPosition()[s] + (t - from);
            }
        }
        model.rope().tables(positions, n, cos, sin);
        WeightMatrix embedding = model.tokenEmbedding();
        int[] tokens = batch.tokens();
        Parallel.forRange(0, n, 8, (a, b) -> {
            for (int t = a; t < b; t++) embedding.dequantizeRow(tokens[t], x, t * dim);
        });

        for (int l = 0; l < c.layers(); l++) {
            layer(l, model.layer(l), batch, cache, n);
        }

        int rows = 0;
        for (int s = 0; s < seqs; s++) {
            if (!batch.wantLogits()[s]) continue;
            int t = batch.tokenStart()[s + 1] - 1;
            VectorOps.rmsnorm(finalRows, rows * dim, x, t * dim, model.outputNorm(), 0, c.rmsEps(), dim);
            rows++;
        }
        return rows;
    }

    /** Receives the logits of one position of the last forward pass: {@code logits[offset, offset + vocab)}. */
    @FunctionalInterface
    public interface PositionLogits {
        void accept(int position, float[] logits, int offset);
    }

    /**
     * After {@link #forward}, and before the next one: the logits at every position of sequence {@code s} of that
     * batch (for prompt logprobs), computed {@code rowsPerGroup} positions at a time into {@code logits} (which must
     * hold {@code rowsPerGroup * vocabSize} floats) and handed to {@code sink} in position order. Reuses the final
     * hidden states the pass left behind, so it costs only the output norm and the output matrix.
     */
    public void positionLogits(ForwardBatch batch, int s, float[] logits, int rowsPerGroup, PositionLogits sink) {
        int from = batch.tokenStart()[s], to = batch.tokenStart()[s + 1];
        int dim = c.dim(), vocab = c.vocabSize();
        if (logits.length < (long) rowsPerGroup * vocab) throw new IllegalArgumentException("the logits buffer is too small");
        for (int t0 = from; t0 < to; t0 += rowsPerGroup) {
            int rows = Math.min(rowsPerGroup, to - t0);
            for (int r = 0; r < rows; r++) {
                VectorOps.rmsnorm(finalRows, r * dim, x, (t0 + r) * dim, model.outputNorm(), 0, c.rmsEps(), dim);
            }
            model.output().matmul(finalRows, logits, rows);
            for (int r = 0; r < rows; r++) sink.accept(batch.startPosition()[s] + (t0 - from) + r, logits, r * vocab);
        }
    }

    private void layer(int l, LayerWeights w, ForwardBatch batch, KvCache cache, int n) {
        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim();
        normAll(w.attnNorm(), n);
        WeightMatrix.matmulSharedInput(xb, n, qkv[l], qkvOut);
        Parallel.forRange(0, n, 4, (a, b) -> {
            for (int t = a; t < b; t++) {
                if (w.qBias() != null) {
                    VectorOps.add(q, t * qDim, w.qBias(), 0, qDim);
                    VectorOps.add(k, t * kvDim, w.kBias(), 0, kvDim);
                    VectorOps.add(v, t * kvDim, w.vBias(), 0, kvDim);
                }
                for (int h = 0; h < c.heads(); h++) {
                    int off = t * qDim + h * c.headDim();
                    if (w.qNorm() != null) VectorOps.rmsnorm(q, off, q, off, w.qNorm(), 0, c.rmsEps(), c.headDim());
                    rotate(q, off, t);
                }
                for (int h = 0; h < c.kvHeads(); h++) {
                    int off = t * kvDim + h * c.headDim();
                    if (w.kNorm() != null) VectorOps.rmsnorm(k, off, k, off, w.kNorm(), 0, c.rmsEps(), c.headDim());
                    rotate(k, off, t);
                }
            }
        });
        int bs = cache.blockSize();
        for (int s = 0; s < batch.sequenceCount(); s++) {
            int[] table = batch.blockTables()[s];
            for (int t = batch.tokenStart()[s]; t < batch.tokenStart()[s + 1]; t++) {
                int pos = positions[t];
                cache.write(l, table[pos / bs] * bs + pos % bs, k, t * kvDim, v, t * kvDim);
            }
        }
        attention(l, batch, cache, n);
        w.wo().matmul(att, xb2, n);
        VectorOps.add(x, 0, xb2, 0, n * dim);

        normAll(w.ffnNorm(), n);
        WeightMatrix.matmulSharedInput(xb, n, gateUp[l], gateUpOut);
        int hidden = c.hiddenDim();
        Parallel.forRange(0, n, 4, (a, b) -> VectorOps.siluMul(hb, a * hidden, hb2, a * hidden, (b - a) * hidden));
        w.wDown().matmul(hb, xb2, n);
        VectorOps.add(x, 0, xb2, 0, n * dim);
    }

    private void normAll(float[] weight, int n) {
        int dim = c.dim();
        Parallel.forRange(0, n, 8, (a, b) -> {
            for (int t = a; t < b; t++) VectorOps.rmsnorm(xb, t * dim, x, t * dim, weight, 0, c.rmsEps(), dim);
        });
    }

    /** Applies RoPE to one head's vector at {@code off} for token {@code t}. */
    private void rotate(float[] vec, int off, int t) {
        int pairs = c.headDim() / 2;
        int base = t * pairs;
        if (c.architecture().ropeStyle() == Architecture.RopeStyle.ADJACENT_PAIRS) {
            for (int i = 0; i < pairs; i++) {
                float a = vec[off + 2 * i], b = vec[off + 2 * i + 1];
                float co = cos[base + i], si = sin[base + i];
                vec[off + 2 * i] = a * co - b * si;
                vec[off + 2 * i + 1] = a * si + b * co;
            }
        } else {
            for (int i = 0; i < pairs; i++) {
                float a = vec[off + i], b = vec[off + i + pairs];
                float co = cos[base + i], si = sin[base + i];
                vec[off + i] = a * co - b * si;
                vec[off + i + pairs] = a * si + b * co;
            }
        }
    }

    /**
     * Causal attention of every token over its own sequence's cached positions. Work is split into tasks of (one
     * sequence, one KV head, up to {@link #QUERY_CHUNK} query tokens): each gathers that head's keys and values once
     * and serves every query head of the group for those tokens.
     */
    private void attention(int l, ForwardBatch batch, KvCache cache, int n) {
        int tasks = 0;
        for (int s = 0; s < batch.sequenceCount(); s++) {
            for (int from = batch.tokenStart()[s]; from < batch.tokenStart()[s + 1]; from += QUERY_CHUNK) {
                int to = Math.min(from + QUERY_CHUNK, batch.tokenStart()[s + 1]);
                for (int g = 0; g < c.kvHeads(); g++) {
                    ensureTasks(tasks + 1);
                    taskSeq[tasks] = s; taskHead[tasks] = g; taskFrom[tasks] = from; taskTo[tasks] = to;
                    tasks++;
                }
            }
        }
        Parallel.forRange(0, tasks, 1, (a, b) -> {
            AttentionScratch scratch = attentionScratch.get();
            for (int i = a; i < b; i++) attendTask(l, batch, cache, taskSeq[i], taskHead[i], taskFrom[i], taskTo[i], scratch);
        });
    }

    private void attendTask(int l, ForwardBatch batch, KvCache cache, int s, int g, int from, int to, AttentionScratch sc) {
        if (to - from > 1) {
            attendTiled(l, batch, cache, s, g, from, to, sc);
            return;
        }
        int hd = c.headDim(), qDim = c.qDim();
        int bs = cache.blockSize();
        int count = positions[to - 1] + 1;
        int cap = (count + bs - 1) / bs * bs; // gathered slots: whole blocks
        int group = c.heads() / c.kvHeads();
        sc.ensure(cap, bs, group);
        int[] table = batch.blockTables()[s];
        cache.gatherKeys(l, g, table, count, sc.keys, sc.shorts);
        cache.gatherValues(l, g, table, count, sc.values, sc.shorts);
        float[] scores = sc.scores;
        for (int t = from; t < to; t++) {
            int len = positions[t] + 1;
            int qBase = t * qDim + g * group * hd;
            for (int j = 0; j < group; j += 4) {
                AttentionKernels.scores(sc.keys, bs, hd, len, q, qBase + j * hd, Math.min(4, group - j), scores, j * cap, cap, attentionScale);
            }
            for (int j = 0; j < group; j++) {
                VectorOps.softmax(scores, j * cap, len);
                AttentionKernels.weightedSum(scores, j * cap, sc.values, len, hd, att, qBase + j * hd);
            }
        }
    }

    /**
     * Attention of a chunk of prompt tokens, flash-attention style: the cached keys and values are taken one tile of
     * about {@link #KEY_TILE} positions at a time (gathered and converted once for every query of the chunk and every
     * query head of the group, and small enough to stay in L1/L2 while they all use it), and each query head keeps a
     * running maximum, denominator and weighted sum that every tile updates (an online softmax), so no score row over
     * the whole prefix is ever held and the prefix is read once per chunk instead of once per query head.
     */
    private void attendTiled(int l, ForwardBatch batch, KvCache cache, int s, int g, int from, int to, AttentionScratch sc) {
        int hd = c.headDim(), qDim = c.qDim();
        int bs = cache.blockSize();
        int group = c.heads() / c.kvHeads();
        int tileBlocks = Math.max(1, KEY_TILE / bs);
        int tile = tileBlocks * bs;
        int queries = to - from;
        sc.ensure(tile, bs, group);
        sc.ensureOnline(queries * group, hd);
        float[] m = sc.max, sum = sc.sum, acc = sc.acc, tmp = sc.tmp, scores = sc.scores;
        java.util.Arrays.fill(m, 0, queries * group, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(sum, 0, queries * group, 0f);
        java.util.Arrays.fill(acc, 0, queries * group * hd, 0f);
        int[] table = batch.blockTables()[s];
        int count = positions[to - 1] + 1;
        for (int k0 = 0; k0 < count; k0 += tile) {
            int inTile = Math.min(tile, count - k0);
            cache.gatherKeys(l, g, table, k0 / bs, (inTile + bs - 1) / bs, sc.keys, sc.shorts);
            cache.gatherValueRange(l, g, table, k0, inTile, sc.values, sc.shorts);
            for (int t = from; t < to; t++) {
                int len = Math.min(inTile, positions[t] + 1 - k0); // causal: keys up to the query's own position
                if (len <= 0) continue;
                int qBase = t * qDim + g * group * hd;
                for (int j = 0; j < group; j += 4) {
                    AttentionKernels.scores(sc.keys, bs, hd, len, q, qBase + j * hd, Math.min(4, group - j), scores, j * tile, tile, attentionScale);
                }
                for (int j = 0; j < group; j++) {
                    int st = (t - from) * group + j;
                    int so = j * tile;
                    float tileMax = VectorOps.max(scores, so, len);
                    float mNew = Math.max(m[st], tileMax);
                    float alpha = (float) Math.exp(m[st] - mNew); // 0 on the first tile (m = -inf)
                    sum[st] = sum[st] * alpha + VectorOps.expShifted(scores, so, len, mNew);
                    m[st] = mNew;
                    AttentionKernels.weightedSum(scores, so, sc.values, len, hd, tmp, 0);
                    int ao = st * hd;
                    VectorOps.scale(acc, ao, alpha, hd);
                    VectorOps.add(acc, ao, tmp, 0, hd);
                }
            }
        }
        for (int t = from; t < to; t++) {
            for (int j = 0; j < group; j++) {
                int st = (t - from) * group + j;
                int out = t * qDim + (g * group + j) * hd;
                System.arraycopy(acc, st * hd, att, out, hd);
                VectorOps.scale(att, out, 1f / sum[st], hd);
            }
        }
    }

    private void ensureTasks(int n) {
        if (taskSeq.length >= n) return;
        int size = Math.max(n, taskSeq.length * 2 + 16);
        taskSeq = java.util.Arrays.copyOf(taskSeq, size);
        taskHead = java.util.Arrays.copyOf(taskHead, size);
        taskFrom = java.util.Arrays.copyOf(taskFrom, size);
        taskTo = java.util.Arrays.copyOf(taskTo, size);
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, 16);
        x = new float[cap * c.dim()];
        xb = new float[cap * c.dim()];
        xb2 = new float[cap * c.dim()];
        q = new float[cap * c.qDim()];
        att = new float[cap * c.qDim()];
        k = new float[cap * c.kvDim()];
        v = new float[cap * c.kvDim()];
        hb = new float[cap * c.hiddenDim()];
        hb2 = new float[cap * c.hiddenDim()];
        cos = new float[cap * c.headDim() / 2];
        sin = new float[cap * c.headDim() / 2];
        finalRows = new float[cap * c.dim()];
        positions = new int[cap];
        qkvOut[0] = q;
        qkvOut[1] = k;
        qkvOut[2] = v;
        gateUpOut[0] = hb;
        gateUpOut[1] = hb2;
        capacity = cap;
    }

    /** Per-thread buffers for attention, grown to the longest context seen. */
    private static final class AttentionScratch {
        private final int headDim;
        float[] keys = new float[0], values = new float[0], scores = new float[0];
        float[] max = new float[0], sum = new float[0], acc = new float[0], tmp = new float[0];
        short[] shorts = new short[0];

        /** Online-softmax state for {@code states} query heads of head size {@code hd}. */
        void ensureOnline(int states, int hd) {
            if (max.length < states) {
                max = new float[states];
                sum = new float[states];
            }
            if (acc.length < states * hd) acc = new float[states * hd];
            if (tmp.length < hd) tmp = new float[hd];
        }

        AttentionScratch(int headDim) {
            this.headDim = headDim;
        }

        /** Room for {@code slots} gathered positions and the scores of {@code heads} query heads over them. */
        void ensure(int slots, int blockSize, int heads) {
            if (keys.length < slots * headDim) {
                int cap = Math.max(slots, keys.length / headDim * 2);
                keys = new float[cap * headDim];
                values = new float[cap * headDim];
            }
            if (scores.length < slots * heads) scores = new float[Math.max(slots * heads, scores.length * 2)];
            if (shorts.length < blockSize * headDim) shorts = new short[blockSize * headDim];
        }
    }
}
