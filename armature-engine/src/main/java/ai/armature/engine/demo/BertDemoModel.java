package ai.armature.engine.demo;

import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufWriter;
import ai.armature.engine.tensor.GgmlType;
import ai.armature.engine.tensor.Quantizer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes BERT embedding models (GGUF architecture {@code bert} or {@code nomic-bert}, llama.cpp's tensor names) with seeded random
 * weights and a given WordPiece vocabulary (the {@code tokenizer.ggml.*} keys of a vocabulary file such as the
 * bge fixture): the test models of the embedding forward pass. Same spec and seed, same file.
 */
public final class BertDemoModel {

    /**
     * Shape, pooling code (1 mean, 2 CLS) and weight type of a model to generate; {@code nomic} writes architecture
     * {@code nomic-bert} (fused QKV, rotary positions with base 1000 as nomic-embed-text, SwiGLU, no biases) instead of
     * {@code bert}.
     */
    public record Spec(int dim, int hiddenDim, int layers, int heads, int contextLength, int pooling, GgmlType weightType, long seed,
                       boolean nomic) {
        public Spec(int dim, int hiddenDim, int layers, int heads, int contextLength, int pooling, GgmlType weightType, long seed) {
            this(dim, hiddenDim, layers, heads, contextLength, pooling, weightType, seed, false);
        }
    }

    private BertDemoModel() {
    }

    /** Writes the model; {@code vocabulary} supplies the tokenizer keys (its other keys are ignored). */
    public static long write(Spec spec, GgufMetadata vocabulary, Path path) throws IOException {
        String[] tokens = vocabulary.getStringArray("tokenizer.ggml.tokens");
        if (tokens == null) throw new IllegalArgumentException("the vocabulary has no tokenizer.ggml.tokens");
        GgufWriter w = new GgufWriter();
        for (String key : vocabulary.keys()) {
            if (key.startsWith("tokenizer.")) w.put(key, vocabulary.get(key));
        }
        String a = spec.nomic() ? "nomic-bert" : "bert";
        w.putString("general.architecture", a);
        w.putString("general.name", "Armature demo embedding model (random weights)");
        w.putBool(DemoModel.DEMO_KEY, true);
        w.putUint32(a + ".context_length", spec.contextLength());
        w.putUint32(a + ".embedding_length", spec.dim());
        w.putUint32(a + ".feed_forward_length", spec.hiddenDim());
        w.putUint32(a + ".block_count", spec.layers());
        w.putUint32(a + ".attention.head_count", spec.heads());
        w.putFloat32(a + ".attention.layer_norm_epsilon", 1e-12f);
        w.putBool(a + ".attention.causal", false);
        w.putUint32(a + ".pooling_type", spec.pooling());
        if (spec.nomic()) w.putFloat32(a + ".rope.freq_base", 1000f);
        int d = spec.dim(), h = spec.hiddenDim();
        long seed = spec.seed() * 7_919L;
        matrix(w, "token_embd.weight", d, tokens.length, spec.weightType(), seed++, 1f);
        if (!spec.nomic()) matrix(w, "position_embd.weight", d, spec.contextLength(), GgmlType.F32, seed++, 0.5f);
        matrix(w, "token_types.weight", d, 2, GgmlType.F32, seed++, 0.5f);
        vector(w, "token_embd_norm.weight", d, seed++, 1f, 0.2f);
        vector(w, "token_embd_norm.bias", d, seed++, 0f, 0.2f);
        float in = (float) Math.sqrt(3.0 / d), hid = (float) Math.sqrt(3.0 / h);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "blk." + l + ".";
            if (spec.nomic()) {
                matrix(w, p + "attn_qkv.weight", d, 3 * d, spec.weightType(), seed++, in);
                matrix(w, p + "attn_output.weight", d, d, spec.weightType(), seed++, in);
            } else {
                for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) {
                    matrix(w, p + m + ".weight", d, d, spec.weightType(), seed++, in);
                    vector(w, p + m + ".bias", d, seed++, 0f, 0.1f);
                }
            }
            vector(w, p + "attn_output_norm.weight", d, seed++, 1f, 0.2f);
            vector(w, p + "attn_output_norm.bias", d, seed++, 0f, 0.2f);
            matrix(w, p + "ffn_up.weight", d, h, spec.weightType(), seed++, in);
            if (spec.nomic()) {
                matrix(w, p + "ffn_gate.weight", d, h, spec.weightType(), seed++, in);
            } else {
                vector(w, p + "ffn_up.bias", h, seed++, 0f, 0.1f);
            }
            matrix(w, p + "ffn_down.weight", h, d, spec.weightType(), seed++, hid);
            if (!spec.nomic()) vector(w, p + "ffn_down.bias", d, seed++, 0f, 0.1f);
            vector(w, p + "layer_output_norm.weight", d, seed++, 1f, 0.2f);
            vector(w, p + "layer_output_norm.bias", d, seed++, 0f, 0.2f);
        }
        return w.write(path);
    }

    private static void vector(GgufWriter w, String name, int n, long seed, float centre, float spread) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = centre + (float) (r.nextDouble() - 0.5) * spread;
        w.addTensor(name, new long[] {n}, v);
    }

    private static void matrix(GgufWriter w, String name, int cols, int rows, GgmlType type, long seed, float scale) {
        w.addTensor(name, new long[] {cols, rows}, type, (OutputStream out) -> {
            SplittableRandom r = new SplittableRandom(seed);
            float[] row = new float[cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) row[j] = (float) ((r.nextDouble() * 2 - 1) * scale);
                out.write(switch (type) {
                    case F32 -> Quantizer.toF32(row, 0, cols);
                    case F16 -> Quantizer.toF16(row, 0, cols);
                    case Q8_0 -> Quantizer.toQ8_0(row, 0, cols);
                    default -> throw new IllegalArgumentException("the BERT generator writes F32, F16 or Q8_0, not " + type);
                });
            }
        });
    }
}
