package ai.armature.engine.demo;

import ai.armature.engine.chat.ChatTemplates;
import ai.armature.engine.gguf.GgufArray;
import ai.armature.engine.gguf.GgufValueType;
import ai.armature.engine.gguf.GgufWriter;
import ai.armature.engine.model.Architecture;
import ai.armature.engine.tensor.GgmlType;
import ai.armature.engine.tensor.Quantizer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes Llama-family GGUF models with seeded random weights and the {@link DemoVocabulary} tokenizer: the demo
 * model users get without downloading anything, and the test models of the engine's correctness tests. The
 * same spec and seed always give the same file. Weights are uniform with variance 1/fan-in, so activations keep
 * their scale through the layers and logits are neither flat nor saturated.
 */
public final class DemoModel {

    /** Marks files written here, so commands can warn that their output is meaningless. */
    public static final String DEMO_KEY = "armature.demo";

    /** The shape and storage of a model to generate. {@code headDim} may differ from dim / heads (as in Qwen3). */
    public record Spec(String name, Architecture architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                       int headDim, int vocabSize, int contextLength, GgmlType weightType, boolean tiedEmbeddings,
                       float ropeTheta, String ropeScalingType, long seed) {

        public Spec withWeightType(GgmlType type) {
            return new Spec(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                    type, tiedEmbeddings, ropeTheta, ropeScalingType, seed);
        }

        public Spec withContextLength(int tokens) {
            if (tokens < 1) throw new IllegalArgumentException("the context length must be positive, got " + tokens);
            return new Spec(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, tokens,
                    weightType, tiedEmbeddings, ropeTheta, ropeScalingType, seed);
        }

        public Spec withArchitecture(Architecture a) {
            return new Spec(name, a, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                    weightType, tiedEmbeddings, ropeTheta, ropeScalingType, seed);
        }
    }

    /** The shapes {@code armature demo-model --preset} offers. */
    public enum Preset {
        /** Tests and smoke checks: loads and runs in milliseconds. */
        TINY(new Spec("tiny", Architecture.LLAMA, 64, 192, 2, 4, 2, 16, 512, 1024, GgmlType.Q8_0, false, 10000f, null, 1)),
        /** The default demo: quick to generate, fast enough to serve many streams on a laptop. */
        SMALL(new Spec("small", Architecture.LLAMA, 256, 768, 4, 8, 4, 32, 4096, 2048, GgmlType.Q8_0, false, 10000f, null, 2)),
        /** TinyLlama-1.1B's shape (22 layers, GQA 32/4, vocab 32000) for benchmarks. */
        ONE_B(new Spec("1b", Architecture.LLAMA, 2048, 5632, 22, 32, 4, 64, 32000, 2048, GgmlType.Q8_0, false, 10000f, null, 3));

        private final Spec spec;

        Preset(Spec spec) {
            this.spec = spec;
        }

        public Spec spec() {
            return spec;
        }

        public static Preset parse(String s) {
            for (Preset p : values()) if (p.spec.name().equalsIgnoreCase(s)) return p;
            throw new IllegalArgumentException("unknown preset '" + s + "' (use tiny, small or 1b)");
        }
    }

    private DemoModel() {
    }

    /** Parses a weight type name for the demo generator: f32, f16, bf16, q8_0 or q4_0. */
    public static GgmlType parseWeightType(String s) {
        GgmlType t = switch (s.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            case "bf16" -> GgmlType.BF16;
            case "q8_0" -> GgmlType.Q8_0;
            case "q4_0" -> GgmlType.Q4_0;
            default -> null;
        };
        if (t == null) throw new IllegalArgumentException("unknown weight type '" + s + "' (use f32, f16, bf16, q8_0 or q4_0)");
        return t;
    }

    /** Writes the model described by {@code spec} to {@code path}; returns the file size. */
    public static long write(Spec spec, Path path) throws IOException {
        return write(spec, path, null);
    }

    /**
     * Writes the model with the tokenizer of another GGUF ({@code tokenizer.*} entries of {@code tokenizer}, e.g. a
     * vocab-only file) instead of the demo vocabulary, so tests can run a real SentencePiece or BPE vocabulary end to
     * end; {@code spec.vocabSize()} must equal its number of tokens. Null: the demo vocabulary.
     */
    public static long write(Spec spec, Path path, ai.armature.engine.gguf.GgufMetadata tokenizer) throws IOException {
        GgufWriter w = new GgufWriter();
        String arch = spec.architecture().ggufName();
        w.putString("general.architecture", arch);
        w.putString("general.name", "Armature demo model (" + spec.name() + ", random weights)");
        w.putBool(DEMO_KEY, true);
        w.putUint32(arch + ".context_length", spec.contextLength());
        w.putUint32(arch + ".embedding_length", spec.dim());
        w.putUint32(arch + ".block_count", spec.layers());
        w.putUint32(arch + ".feed_forward_length", spec.hiddenDim());
        w.putUint32(arch + ".attention.head_count", spec.heads());
        w.putUint32(arch + ".attention.head_count_kv", spec.kvHeads());
        w.putUint32(arch + ".attention.key_length", spec.headDim());
        w.putUint32(arch + ".attention.value_length", spec.headDim());
        w.putUint32(arch + ".rope.dimension_count", spec.headDim());
        w.putFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        w.putFloat32(arch + ".rope.freq_base", spec.ropeTheta());
        if ("llama3".equals(spec.ropeScalingType())) {
            w.putString(arch + ".rope.scaling.type", "llama3");
            w.putFloat32(arch + ".rope.scaling.factor", 8f);
            w.putFloat32(arch + ".rope.scaling.low_freq_factor", 1f);
            w.putFloat32(arch + ".rope.scaling.high_freq_factor", 4f);
            w.putUint32(arch + ".rope.scaling.original_context_length", 64);
        }
        if (tokenizer != null) {
            String[] tokens = tokenizer.getStringArray("tokenizer.ggml.tokens");
            if (tokens == null || tokens.length != spec.vocabSize()) {
                throw new IllegalArgumentException("the tokenizer has " + (tokens == null ? 0 : tokens.length)
                        + " tokens but the spec's vocabulary is " + spec.vocabSize());
            }
            tokenizer.asMap().forEach((k, v) -> {
                if (k.startsWith("tokenizer.")) w.put(k, v);
            });
            if (!tokenizer.contains("tokenizer.chat_template")) w.putString("tokenizer.chat_template", ChatTemplates.CHATML);
        } else {
            DemoVocabulary vocab = DemoVocabulary.build(spec.vocabSize(), spec.seed());
            w.putString("tokenizer.ggml.model", "gpt2");
            w.putString("tokenizer.ggml.pre", "gpt-2");
            w.putStringArray("tokenizer.ggml.tokens", vocab.tokens().toArray(String[]::new));
            w.putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, vocab.tokenTypes()));
            w.putStringArray("tokenizer.ggml.merges", vocab.merges().toArray(String[]::new));
            w.putUint32("tokenizer.ggml.bos_token_id", vocab.id(DemoVocabulary.BOS));
            w.putUint32("tokenizer.ggml.eos_token_id", vocab.id(DemoVocabulary.EOS));
            w.putUint32("tokenizer.ggml.eot_token_id", vocab.id(DemoVocabulary.IM_END));
            w.putBool("tokenizer.ggml.add_bos_token", true);
            w.putString("tokenizer.chat_template", ChatTemplates.CHATML);
        }

        int qDim = spec.heads() * spec.headDim(), kvDim = spec.kvHeads() * spec.headDim();
        long seed = spec.seed() * 1_000_003L;
        matrix(w, "token_embd.weight", spec.dim(), spec.vocabSize(), spec.weightType(), seed++, 1.0f);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "blk." + l + ".";
            norm(w, p + "attn_norm.weight", spec.dim(), seed++);
            matrix(w, p + "attn_q.weight", spec.dim(), qDim, spec.weightType(), seed++, fanIn(spec.dim()));
            matrix(w, p + "attn_k.weight", spec.dim(), kvDim, spec.weightType(), seed++, fanIn(spec.dim()));
            matrix(w, p + "attn_v.weight", spec.dim(), kvDim, spec.weightType(), seed++, fanIn(spec.dim()));
            if (spec.architecture().qkvBias()) {
                bias(w, p + "attn_q.bias", qDim, seed++);
                bias(w, p + "attn_k.bias", kvDim, seed++);
                bias(w, p + "attn_v.bias", kvDim, seed++);
            }
            if (spec.architecture().qkNorm()) {
                norm(w, p + "attn_q_norm.weight", spec.headDim(), seed++);
                norm(w, p + "attn_k_norm.weight", spec.headDim(), seed++);
            }
            matrix(w, p + "attn_output.weight", qDim, spec.dim(), spec.weightType(), seed++, fanIn(qDim));
            norm(w, p + "ffn_norm.weight", spec.dim(), seed++);
            matrix(w, p + "ffn_gate.weight", spec.dim(), spec.hiddenDim(), spec.weightType(), seed++, fanIn(spec.dim()));
            matrix(w, p + "ffn_up.weight", spec.dim(), spec.hiddenDim(), spec.weightType(), seed++, fanIn(spec.dim()));
            matrix(w, p + "ffn_down.weight", spec.hiddenDim(), spec.dim(), spec.weightType(), seed++, fanIn(spec.hiddenDim()));
        }
        norm(w, "output_norm.weight", spec.dim(), seed++);
        if (!spec.tiedEmbeddings()) {
            matrix(w, "output.weight", spec.dim(), spec.vocabSize(), spec.weightType(), seed, fanIn(spec.dim()) * 4);
        }
        return w.write(path);
    }

    private static float fanIn(int n) {
        return (float) Math.sqrt(3.0 / n);
    }

    private static void norm(GgufWriter w, String name, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 1f + (float) (r.nextDouble() - 0.5) * 0.2f;
        w.addTensor(name, new long[]{n}, v);
    }

    private static void bias(GgufWriter w, String name, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() - 0.5) * 0.2f;
        w.addTensor(name, new long[]{n}, v);
    }

    /** A rows x cols matrix of uniform(-scale, scale) values, generated and encoded row by row while written. */
    private static void matrix(GgufWriter w, String name, int cols, int rows, GgmlType type, long seed, float scale) {
        w.addTensor(name, new long[]{cols, rows}, type, (OutputStream out) -> {
            SplittableRandom r = new SplittableRandom(seed);
            float[] row = new float[cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) row[j] = (float) ((r.nextDouble() * 2 - 1) * scale);
                out.write(encode(type, row, cols, r, scale));
            }
        });
    }

    /**
     * One row in {@code type}. F32 to Q4_0 are quantized from the floats; for the K-quants, which Armature reads but
     * does not write, random valid blocks are drawn directly, scaled to about the same range.
     */
    private static byte[] encode(GgmlType type, float[] row, int cols, SplittableRandom r, float scale) {
        return switch (type) {
            case F32 -> Quantizer.toF32(row, 0, cols);
            case F16 -> Quantizer.toF16(row, 0, cols);
            case BF16 -> Quantizer.toBF16(row, 0, cols);
            case Q8_0 -> Quantizer.toQ8_0(row, 0, cols);
            case Q4_0 -> Quantizer.toQ4_0(row, 0, cols);
            case Q4_K -> randomQ4K(cols, r, scale);
            case Q5_K -> randomQ5K(cols, r, scale);
            case Q6_K -> randomQ6K(cols, r, scale);
            default -> throw new IllegalArgumentException("the demo generator cannot write " + type + " weights");
        };
    }

    /** Q4_K super-blocks: value = d * sc * q - dmin * m with random 6-bit sc, m and 4-bit q. */
    private static byte[] randomQ4K(int cols, SplittableRandom r, float scale) {
        return randomKWithMins(cols, r, 144, scale / (63f * 15f) * 2f, 8f);
    }

    /** Q5_K super-blocks: as Q4_K with 5-bit q. */
    private static byte[] randomQ5K(int cols, SplittableRandom r, float scale) {
        return randomKWithMins(cols, r, 176, scale / (63f * 31f) * 2f, 16f);
    }

    /**
     * Super-blocks of {@code bytes} bytes that start with f16 d and dmin ({@code d * minFactor}, which centres the
     * values on zero), every other byte random.
     */
    private static byte[] randomKWithMins(int cols, SplittableRandom r, int bytes, float d, float minFactor) {
        byte[] out = new byte[cols / 256 * bytes];
        for (int b = 0; b < cols / 256; b++) {
            int o = b * bytes;
            putF16(out, o, d);
            putF16(out, o + 2, d * minFactor);
            for (int i = 4; i < bytes; i++) out[o + i] = (byte) r.nextInt(256);
        }
        return out;
    }

    /** Q6_K super-blocks: value = d * scale * (q - 32) with random int8 scales and 6-bit q. */
    private static byte[] randomQ6K(int cols, SplittableRandom r, float scale) {
        byte[] out = new byte[cols / 256 * 210];
        for (int b = 0; b < cols / 256; b++) {
            int o = b * 210;
            for (int i = 0; i < 208; i++) out[o + i] = (byte) r.nextInt(256);
            putF16(out, o + 208, scale / (128f * 32f));
        }
        return out;
    }

    private static void putF16(byte[] out, int o, float v) {
        short h = Float.floatToFloat16(v);
        out[o] = (byte) h;
        out[o + 1] = (byte) (h >>> 8);
    }
}
