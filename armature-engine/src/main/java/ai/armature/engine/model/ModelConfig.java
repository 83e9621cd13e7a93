package ai.armature.engine.model;

import ai.armature.engine.gguf.GgufFormatException;
import ai.armature.engine.gguf.GgufMetadata;

/**
 * The hyperparameters of a Llama-family model, read from GGUF metadata ({@code {arch}.embedding_length} and so
 * on). {@code headDim} may differ from {@code dim / heads} (Qwen3 sets it explicitly). {@code ropeScaling} is
 * null when positions are not rescaled.
 */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocabSize,
        int contextLength,
        float rmsEps,
        float ropeTheta,
        RopeScaling ropeScaling) {

    public ModelConfig {
        if (dim <= 0 || hiddenDim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || vocabSize <= 0) {
            throw new GgufFormatException("model dimensions must be positive: dim=" + dim + " hidden=" + hiddenDim
                    + " layers=" + layers + " heads=" + heads + " kv_heads=" + kvHeads + " head_dim=" + headDim + " vocab=" + vocabSize);
        }
        if (heads % kvHeads != 0) {
            throw new GgufFormatException("attention.head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        }
        if (headDim % 2 != 0) throw new GgufFormatException("head dimension " + headDim + " must be even for RoPE");
    }

    /**
     * Position scaling: {@code LINEAR} divides positions by {@code factor}; {@code LLAMA3} rescales frequencies by
     * wavelength as Llama 3.1 defines it.
     */
    public record RopeScaling(Kind kind, float factor, float lowFreqFactor, float highFreqFactor, int originalContextLength) {
        public enum Kind { LINEAR, LLAMA3 }
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Reads the config; {@code vocabSize} comes from the token embedding tensor. */
    static ModelConfig fromMetadata(GgufMetadata md, int vocabSize) {
        Architecture arch = Architecture.fromGguf(md.requireString("general.architecture"));
        String p = arch.ggufName() + ".";
        int dim = md.requireInt(p + "embedding_length");
        int heads = md.requireInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDim = md.getInt(p + "attention.key_length", dim / heads);
        RopeScaling scaling = null;
        String scalingType = md.getString(p + "rope.scaling.type");
        float factor = md.getFloat(p + "rope.scaling.factor", 1f);
        if ("linear".equals(scalingType) && factor != 1f) {
            scaling = new RopeScaling(RopeScaling.Kind.LINEAR, factor, 0, 0, 0);
        } else if ("llama3".equals(scalingType)) {
            scaling = new RopeScaling(RopeScaling.Kind.LLAMA3, factor,
                    md.getFloat(p + "rope.scaling.low_freq_factor", 1f),
                    md.getFloat(p + "rope.scaling.high_freq_factor", 4f),
                    md.getInt(p + "rope.scaling.original_context_length", 8192));
        } else if (scalingType != null && !"none".equals(scalingType) && !"linear".equals(scalingType)) {
            throw new GgufFormatException("unsupported RoPE scaling type '" + scalingType + "'");
        }
        return new ModelConfig(arch, dim,
                md.requireInt(p + "feed_forward_length"),
                md.requireInt(p + "block_count"),
                heads, kvHeads, headDim, vocabSize,
                md.getInt(p + "context_length", 2048),
                md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                md.getFloat(p + "rope.freq_base", 10000f),
                scaling);
    }
}
