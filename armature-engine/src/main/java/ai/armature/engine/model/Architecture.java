package ai.armature.engine.model;

import ai.armature.engine.gguf.GgufFormatException;

/**
 * The model families Armature runs, as GGUF's {@code general.architecture} names them. They share the Llama
 * block (RMSNorm, GQA attention with RoPE, SwiGLU) and differ in the details each enum constant records.
 */
public enum Architecture {
    /** Llama 2/3/3.x, Mistral, TinyLlama, SmolLM: RoPE over adjacent pairs (GGUF permutes q/k for it). */
    LLAMA("llama", RopeStyle.ADJACENT_PAIRS, false, false),
    /** Qwen2 / Qwen2.5: biases on q, k and v; RoPE over the two halves of each head. */
    QWEN2("qwen2", RopeStyle.HALVES, true, false),
    /** Qwen3 (dense): an RMSNorm over each q and k head before RoPE; RoPE over halves. */
    QWEN3("qwen3", RopeStyle.HALVES, false, true);

    /** How RoPE pairs up the dimensions of a head. */
    public enum RopeStyle { ADJACENT_PAIRS, HALVES }

    private final String ggufName;
    private final RopeStyle ropeStyle;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Architecture(String ggufName, RopeStyle ropeStyle, boolean qkvBias, boolean qkNorm) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) if (a.ggufName.equals(name)) return a;
        throw new GgufFormatException("unsupported architecture '" + name + "' (supported: llama, qwen2, qwen3)");
    }

    public String ggufName() {
        return ggufName;
    }

    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    public boolean qkvBias() {
        return qkvBias;
    }

    public boolean qkNorm() {
        return qkNorm;
    }
}
