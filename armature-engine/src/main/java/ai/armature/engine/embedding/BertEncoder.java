package ai.armature.engine.embedding;

import ai.armature.engine.tensor.Parallel;

import java.util.List;

/**
 * Runs a {@link BertModel} over a batch of token sequences: every weight matrix multiplies all tokens of all
 * sequences at once, attention is bidirectional within each sequence (positions from the model's table, or rotary
 * for nomic-bert, counted from each sequence's start), and each sequence is pooled (as the model says: CLS or mean)
 * and L2-normalized. Buffers are reused across calls, so one instance serves one thread.
 */
public final class BertEncoder implements Embedder {

    private final BertModel model;
    private final BertModel.Config c;
    private int capacity;
    private float[] x, xb, q, k, v, att, h, g, qkv;
    /** Rotary cos/sin per (position, pair), for nomic-bert; null otherwise. */
    private final float[] ropeCos, ropeSin;

    public BertEncoder(BertModel model) {
        this.model = model;
        this.c = model.config;
        if (c.rotary()) {
            int half = c.headDim() / 2;
            ropeCos = new float[c.contextLength() * half];
            ropeSin = new float[c.contextLength() * half];
            for (int pos = 0; pos < c.contextLength(); pos++) {
                for (int i = 0; i < half; i++) {
                    double angle = pos * Math.pow(c.ropeBase(), -2.0 * i / c.headDim());
                    ropeCos[pos * half + i] = (float) Math.cos(angle);
                    ropeSin[pos * half + i] = (float) Math.sin(angle);
                }
            }
        } else {
            ropeCos = ropeSin = null;
        }
    }

    public BertModel.Config config() {
        return c;
    }

    @Override
    public int dimensions() {
        return c.dim();
    }

    @Override
    public int maxInputTokens() {
        return c.contextLength();
    }

    /**
     * The normalized embeddings of {@code inputs} (each at most the context length, token ids in the vocabulary).
     *
     * @throws IllegalArgumentException for an empty or too long input or an id outside the vocabulary
     */
    @Override
    public float[][] embed(List<int[]> inputs) {
        int n = 0;
        int[] start = new int[inputs.size() + 1];
        for (int s = 0; s < inputs.size(); s++) {
            int[] t = inputs.get(s);
            if (t.length == 0) throw new IllegalArgumentException("input " + s + " has no tokens");
            if (t.length > c.contextLength()) {
                throw new IllegalArgumentException("input " + s + " has " + t.length + " tokens; the model's context is " + c.contextLength());
            }
            for (int id : t) {
                if (id < 0 || id >= c.vocabSize()) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (c.vocabSize() - 1) + ")");
            }
            start[s] = n;
            n += t.length;
        }
        start[inputs.size()] = n;
        ensure(n);
        int dim = c.dim();
        for (int s = 0; s < inputs.size(); s++) {
            int[] t = inputs.get(s);
            for (int i = 0; i < t.length; i++) {
                int row = (start[s] + i) * dim;
                model.tokenEmbedding.dequantizeRow(t[i], x, row);
                if (model.positionEmbedding != null) for (int j = 0; j < dim; j++) x[row + j] += model.positionEmbedding[i * dim + j];
                for (int j = 0; j < dim; j++) x[row + j] += model.typeEmbedding0[j];
                layerNorm(x, row, model.embNormW, model.embNormB, dim);
            }
        }
        for (BertModel.Layer l : model.layers) layer(l, start, n);
        float[][] out = new float[inputs.size()][dim];
        for (int s = 0; s < inputs.size(); s++) {
            float[] e = out[s];
            int from = start[s], to = start[s + 1];
            switch (c.pooling()) {
                case CLS -> System.arraycopy(x, from * dim, e, 0, dim);
                case LAST -> System.arraycopy(x, (to - 1) * dim, e, 0, dim);
                case MEAN -> {
                    for (int t = from; t < to; t++) for (int j = 0; j < dim; j++) e[j] += x[t * dim + j];
                    for (int j = 0; j < dim; j++) e[j] /= (to - from);
                }
            }
            normalize(e);
        }
        return out;
    }

    private void layer(BertModel.Layer l, int[] start, int n) {
        int dim = c.dim(), hidden = c.hiddenDim();
        if (l.qkv() != null) {
            l.qkv().matmul(x, qkv, n);
            for (int t = 0; t < n; t++) {
                System.arraycopy(qkv, t * 3 * dim, q, t * dim, dim);
                System.arraycopy(qkv, t * 3 * dim + dim, k, t * dim, dim);
                System.arraycopy(qkv, t * 3 * dim + 2 * dim, v, t * dim, dim);
            }
        } else {
            l.wq().matmul(x, q, n);
            l.wk().matmul(x, k, n);
            l.wv().matmul(x, v, n);
        }
        addBias(q, l.bq(), n, dim);
        addBias(k, l.bk(), n, dim);
        addBias(v, l.bv(), n, dim);
        int seqs = start.length - 1;
        if (ropeCos != null) {
            for (int s = 0; s < seqs; s++) {
                for (int t = start[s]; t < start[s + 1]; t++) {
                    rotate(q, t * dim, t - start[s]);
                    rotate(k, t * dim, t - start[s]);
                }
            }
        }
        int heads = c.heads(), hd = c.headDim();
        float scale = (float) (1.0 / Math.sqrt(hd));
        Parallel.forRange(0, seqs * heads, 1, (a, b) -> {
            float[] scores = new float[c.contextLength()];
            for (int task = a; task < b; task++) {
                int s = task / heads, head = task % heads;
                int from = start[s], to = start[s + 1];
                for (int t = from; t < to; t++) {
                    int qo = t * dim + head * hd;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int u = from; u < to; u++) {
                        int ko = u * dim + head * hd;
                        float dot = 0;
                        for (int j = 0; j < hd; j++) dot += q[qo + j] * k[ko + j];
                        scores[u - from] = dot * scale;
                        max = Math.max(max, scores[u - from]);
                    }
                    float sum = 0;
                    for (int u = 0; u < to - from; u++) {
                        scores[u] = (float) Math.exp(scores[u] - max);
                        sum += scores[u];
                    }
                    for (int j = 0; j < hd; j++) att[qo + j] = 0;
                    for (int u = from; u < to; u++) {
                        float p = scores[u - from] / sum;
                        int vo = u * dim + head * hd;
                        for (int j = 0; j < hd; j++) att[qo + j] += p * v[vo + j];
                    }
                }
            }
        });
        l.wo().matmul(att, xb, n);
        addBias(xb, l.bo(), n, dim);
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < dim; j++) x[t * dim + j] += xb[t * dim + j];
            layerNorm(x, t * dim, l.attnNormW(), l.attnNormB(), dim);
        }
        l.up().matmul(x, h, n);
        addBias(h, l.bUp(), n, hidden);
        if (l.gate() != null) {
            l.gate().matmul(x, g, n);
            for (int i = 0; i < n * hidden; i++) h[i] *= g[i] / (1 + (float) Math.exp(-g[i])); // SwiGLU: silu(gate) * up
        } else {
            for (int i = 0; i < n * hidden; i++) h[i] = gelu(h[i]);
        }
        l.down().matmul(h, xb, n);
        addBias(xb, l.bDown(), n, dim);
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < dim; j++) x[t * dim + j] += xb[t * dim + j];
            layerNorm(x, t * dim, l.outNormW(), l.outNormB(), dim);
        }
    }

    /** Rotates every head of the row at {@code off} by position {@code pos}, pairing element i with i + half (NeoX order). */
    private void rotate(float[] a, int off, int pos) {
        int hd = c.headDim(), half = hd / 2;
        for (int head = 0; head < c.heads(); head++) {
            int o = off + head * hd;
            for (int i = 0; i < half; i++) {
                float cos = ropeCos[pos * half + i], sin = ropeSin[pos * half + i];
                float x0 = a[o + i], x1 = a[o + i + half];
                a[o + i] = x0 * cos - x1 * sin;
                a[o + i + half] = x0 * sin + x1 * cos;
            }
        }
    }

    private static void addBias(float[] a, float[] bias, int n, int width) {
        if (bias == null) return;
        for (int t = 0; t < n; t++) for (int j = 0; j < width; j++) a[t * width + j] += bias[j];
    }

    private void layerNorm(float[] a, int off, float[] w, float[] b, int dim) {
        double mean = 0;
        for (int j = 0; j < dim; j++) mean += a[off + j];
        mean /= dim;
        double var = 0;
        for (int j = 0; j < dim; j++) {
            double d = a[off + j] - mean;
            var += d * d;
        }
        var /= dim;
        float inv = (float) (1.0 / Math.sqrt(var + c.eps()));
        for (int j = 0; j < dim; j++) a[off + j] = (float) ((a[off + j] - mean) * inv) * w[j] + b[j];
    }

    /** GELU with the error function, as BERT defines it. */
    static float gelu(float v) {
        return (float) (0.5 * v * (1 + Erf.erf(v / Math.sqrt(2))));
    }

    static void normalize(float[] e) {
        double norm = 0;
        for (float f : e) norm += (double) f * f;
        float inv = norm == 0 ? 0 : (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < e.length; i++) e[i] *= inv;
    }

    private void ensure(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, 16);
        x = new float[cap * c.dim()];
        xb = new float[cap * c.dim()];
        q = new float[cap * c.dim()];
        k = new float[cap * c.dim()];
        v = new float[cap * c.dim()];
        att = new float[cap * c.dim()];
        h = new float[cap * c.hiddenDim()];
        if (c.rotary()) {
            g = new float[cap * c.hiddenDim()];
            qkv = new float[cap * 3 * c.dim()];
        }
        capacity = cap;
    }
}
