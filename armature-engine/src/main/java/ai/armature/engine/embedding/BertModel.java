package ai.armature.engine.embedding;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufFormatException;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufTensorInfo;
import ai.armature.engine.tensor.WeightMatrix;

/**
 * A BERT encoder (GGUF architecture {@code bert}: bge, all-MiniLM, e5 and the like) as llama.cpp's converter writes
 * it: word, position and token-type embeddings with a LayerNorm, then post-norm blocks (self-attention with biases,
 * residual, LayerNorm; GELU feed-forward with biases, residual, LayerNorm). Weights stay in the mapped file; the
 * small vectors (biases, norms, position and type rows) are copied out. Loading checks every tensor's shape.
 */
public final class BertModel {

    /** Hyperparameters; {@code pooling} from {@code bert.pooling_type} (CLS when absent, as bge). */
    public record Config(int dim, int hiddenDim, int layers, int heads, int vocabSize, int contextLength, float eps, Pooling pooling) {
        public int headDim() {
            return dim / heads;
        }
    }

    record Layer(WeightMatrix wq, float[] bq, WeightMatrix wk, float[] bk, WeightMatrix wv, float[] bv,
                 WeightMatrix wo, float[] bo, float[] attnNormW, float[] attnNormB,
                 WeightMatrix up, float[] bUp, WeightMatrix down, float[] bDown, float[] outNormW, float[] outNormB) {
    }

    final Config config;
    final WeightMatrix tokenEmbedding;
    final float[] positionEmbedding; // contextLength x dim
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

    /** Whether {@code file} holds a model this class loads. */
    public static boolean isBert(GgufFile file) {
        return "bert".equals(file.metadata().getString("general.architecture"));
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
        if (!isBert(f)) throw new GgufFormatException("not a BERT model (general.architecture is " + md.getString("general.architecture") + ")");
        GgufTensorInfo embd = f.requireTensor("token_embd.weight");
        int dim = md.requireInt("bert.embedding_length");
        int vocab = Math.toIntExact(embd.dims()[1]);
        int ctx = md.getInt("bert.context_length", 512);
        int heads = md.requireInt("bert.attention.head_count");
        if (dim % heads != 0) throw new GgufFormatException("bert.embedding_length " + dim + " is not a multiple of the head count " + heads);
        Config c = new Config(dim, md.requireInt("bert.feed_forward_length"), md.requireInt("bert.block_count"), heads, vocab, ctx,
                md.getFloat("bert.attention.layer_norm_epsilon", 1e-12f), Pooling.fromGguf(md.getInt("bert.pooling_type", 2), Pooling.CLS));
        Loader l = new Loader(f);
        float[] types = l.vector("token_types.weight", -1);
        if (types.length % dim != 0) throw new GgufFormatException("token_types.weight is not a multiple of " + dim + " long");
        float[] pos = l.vector("position_embd.weight", -1);
        if (pos.length < (long) ctx * dim) throw new GgufFormatException("position_embd.weight holds fewer than " + ctx + " positions");
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    l.matrix(p + "attn_q.weight", dim, dim), l.vector(p + "attn_q.bias", dim),
                    l.matrix(p + "attn_k.weight", dim, dim), l.vector(p + "attn_k.bias", dim),
                    l.matrix(p + "attn_v.weight", dim, dim), l.vector(p + "attn_v.bias", dim),
                    l.matrix(p + "attn_output.weight", dim, dim), l.vector(p + "attn_output.bias", dim),
                    l.vector(p + "attn_output_norm.weight", dim), l.vector(p + "attn_output_norm.bias", dim),
                    l.matrix(p + "ffn_up.weight", dim, c.hiddenDim()), l.vector(p + "ffn_up.bias", c.hiddenDim()),
                    l.matrix(p + "ffn_down.weight", c.hiddenDim(), dim), l.vector(p + "ffn_down.bias", dim),
                    l.vector(p + "layer_output_norm.weight", dim), l.vector(p + "layer_output_norm.bias", dim));
        }
        return new BertModel(c, l.matrix("token_embd.weight", dim, vocab), java.util.Arrays.copyOf(pos, ctx * dim),
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
