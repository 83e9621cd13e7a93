package ai.armature.engine.embedding;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufFormatException;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufTensorInfo;
import ai.armature.engine.tensor.WeightMatrix;

/**
 * A BERT-family encoder as llama.cpp's converter writes it: GGUF architecture {@code bert} (bge, all-MiniLM, e5:
 * word, position and token-type embeddings with a LayerNorm, then post-norm blocks of self-attention with biases and
 * a GELU feed-forward with biases) or {@code nomic-bert} (nomic-embed-text: no position table but rotary position
 * embeddings on the queries and keys, one fused QKV projection, no biases, a SwiGLU feed-forward; the same post-norm
 * blocks). Weights stay in the mapped file; the small vectors (biases, norms, position and type rows) are copied
 * out. Loading checks every tensor's shape.
 */
public final class BertModel {

    /** The two layouts this class reads; the value is {@code general.architecture}. */
    public enum Architecture {
        BERT("bert"), NOMIC_BERT("nomic-bert");

        final String gguf;

        Architecture(String gguf) {
            this.gguf = gguf;
        }

        static Architecture of(String name) {
            for (Architecture a : values()) if (a.gguf.equals(name)) return a;
            return null;
        }
    }

    /**
     * Hyperparameters; {@code pooling} from {@code ARCH.pooling_type} (CLS when absent, as bge); {@code ropeBase} the
     * rotary frequency base of nomic-bert (unused by bert, which has a position table).
     */
    public record Config(Architecture architecture, int dim, int hiddenDim, int layers, int heads, int vocabSize, int contextLength, float eps,
                         Pooling pooling, float ropeBase) {
        public int headDim() {
            return dim / heads;
        }

        public boolean rotary() {
            return architecture == Architecture.NOMIC_BERT;
        }
    }

    /**
     * One block. bert: separate q/k/v with biases, output and feed-forward biases, {@code gate} null. nomic-bert:
     * {@code qkv} (rows Q, then K, then V), a {@code gate}, and every bias null.
     */
    record Layer(WeightMatrix wq, float[] bq, WeightMatrix wk, float[] bk, WeightMatrix wv, float[] bv, WeightMatrix qkv,
                 WeightMatrix wo, float[] bo, float[] attnNormW, float[] attnNormB,
                 WeightMatrix up, float[] bUp, WeightMatrix gate, WeightMatrix down, float[] bDown, float[] outNormW, float[] outNormB) {
    }

    final Config config;
    final WeightMatrix tokenEmbedding;
    final float[] positionEmbedding; // contextLength x dim; null with rotary positions
    final float[] typeEmbedding0;    // the row of token type 0
    final float[] embNormW, embNormB;
    final Layer[] layers;

    private BertModel(Config config, WeightMatrix tokenEmbedding, float[] positionEmbedding, float[] typeEmbedding0,
                      float[] embNormW, float[] embNormB, Layer[] layers) {
        this.config = config;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.typeEmbedding0 = typeEmbedding0;
        this.embNormW = embNormW;
        this.embNormB = embNormB;
        this.layers = layers;
    }

    public Config config() {
        return config;
    }

    /** Whether {@code file} holds a model this class loads (architecture {@code bert} or {@code nomic-bert}). */
    public static boolean isBert(GgufFile file) {
        return Architecture.of(file.metadata().getString("general.architecture")) != null;
    }

    public static BertModel load(GgufFile file) {
        try {
            return loadChecked(file);
        } catch (GgufFormatException e) {
            throw new GgufFormatException(file.path() + ": " + e.getMessage(), e);
        }
    }

    private static BertModel loadChecked(GgufFile f) {
        GgufMetadata md = f.metadata();
        Architecture arch = Architecture.of(md.getString("general.architecture"));
        if (arch == null) throw new GgufFormatException("not a BERT model (general.architecture is " + md.getString("general.architecture") + ")");
        String k = arch.gguf + ".";
        GgufTensorInfo embd = f.requireTensor("token_embd.weight");
        int dim = md.requireInt(k + "embedding_length");
        int vocab = Math.toIntExact(embd.dims()[1]);
        int ctx = md.getInt(k + "context_length", 512);
        int heads = md.requireInt(k + "attention.head_count");
        if (dim % heads != 0) throw new GgufFormatException(k + "embedding_length " + dim + " is not a multiple of the head count " + heads);
        if (arch == Architecture.NOMIC_BERT && (dim / heads) % 2 != 0) throw new GgufFormatException("rotary positions need an even head size, not " + dim / heads);
        Config c = new Config(arch, dim, md.requireInt(k + "feed_forward_length"), md.requireInt(k + "block_count"), heads, vocab, ctx,
                md.getFloat(k + "attention.layer_norm_epsilon", 1e-12f), Pooling.fromGguf(md.getInt(k + "pooling_type", 2), Pooling.CLS),
                md.getFloat(k + "rope.freq_base", 10_000f));
        Loader l = new Loader(f);
        float[] types = l.vector("token_types.weight", -1);
        if (types.length % dim != 0) throw new GgufFormatException("token_types.weight is not a multiple of " + dim + " long");
        float[] pos = null;
        if (arch == Architecture.BERT) {
            pos = l.vector("position_embd.weight", -1);
            if (pos.length < (long) ctx * dim) throw new GgufFormatException("position_embd.weight holds fewer than " + ctx + " positions");
            pos = java.util.Arrays.copyOf(pos, ctx * dim);
        }
        int hidden = c.hiddenDim();
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            float[] n1w = l.vector(p + "attn_output_norm.weight", dim), n1b = l.vector(p + "attn_output_norm.bias", dim);
            float[] n2w = l.vector(p + "layer_output_norm.weight", dim), n2b = l.vector(p + "layer_output_norm.bias", dim);
            layers[i] = arch == Architecture.BERT
                    ? new Layer(
                    l.matrix(p + "attn_q.weight", dim, dim), l.vector(p + "attn_q.bias", dim),
                    l.matrix(p + "attn_k.weight", dim, dim), l.vector(p + "attn_k.bias", dim),
                    l.matrix(p + "attn_v.weight", dim, dim), l.vector(p + "attn_v.bias", dim), null,
                    l.matrix(p + "attn_output.weight", dim, dim), l.vector(p + "attn_output.bias", dim), n1w, n1b,
                    l.matrix(p + "ffn_up.weight", dim, hidden), l.vector(p + "ffn_up.bias", hidden), null,
                    l.matrix(p + "ffn_down.weight", hidden, dim), l.vector(p + "ffn_down.bias", dim), n2w, n2b)
                    : new Layer(null, null, null, null, null, null, l.matrix(p + "attn_qkv.weight", dim, 3 * dim),
                    l.matrix(p + "attn_output.weight", dim, dim), null, n1w, n1b,
                    l.matrix(p + "ffn_up.weight", dim, hidden), null, l.matrix(p + "ffn_gate.weight", dim, hidden),
                    l.matrix(p + "ffn_down.weight", hidden, dim), null, n2w, n2b);
        }
        return new BertModel(c, l.matrix("token_embd.weight", dim, vocab), pos,
                java.util.Arrays.copyOf(types, dim), l.vector("token_embd_norm.weight", dim), l.vector("token_embd_norm.bias", dim), layers);
    }

    private record Loader(GgufFile f) {
        WeightMatrix matrix(String name, int cols, int rows) {
            GgufTensorInfo t = f.requireTensor(name);
            long[] d = t.dims();
            if (d.length != 2 || d[0] != cols || d[1] != rows) {
                throw new GgufFormatException("tensor '" + name + "' has shape " + java.util.Arrays.toString(d) + ", expected [" + cols + ", " + rows + "]");
            }
            if (!t.type().supported()) throw new GgufFormatException("tensor '" + name + "' has unsupported type " + t.type());
            return WeightMatrix.of(t.type(), f.tensorData(name), rows, cols);
        }

        /** A tensor copied out as floats; {@code n >= 0} checks its element count. */
        float[] vector(String name, int n) {
            GgufTensorInfo t = f.requireTensor(name);
            if (n >= 0 && t.elementCount() != n) throw new GgufFormatException("tensor '" + name + "' has " + t.elementCount() + " elements, expected " + n);
            if (!t.type().supported()) throw new GgufFormatException("tensor '" + name + "' has unsupported type " + t.type());
            int count = Math.toIntExact(t.elementCount());
            long[] d = t.dims();
            int cols = (int) d[0], rows = count / cols;
            float[] out = new float[count];
            WeightMatrix m = WeightMatrix.of(t.type(), f.tensorData(name), rows, cols);
            for (int r = 0; r < rows; r++) m.dequantizeRow(r, out, r * cols);
            return out;
        }
    }
}
