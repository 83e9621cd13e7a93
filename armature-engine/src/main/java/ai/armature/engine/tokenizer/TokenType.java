package ai.armature.engine.tokenizer;

/**
 * The kind of a vocabulary entry, with the numbering GGUF uses in {@code tokenizer.ggml.token_type}. Only
 * {@link #CONTROL} tokens need special-token parsing to be recognised in text; {@link #USER_DEFINED} tokens are
 * ordinary (if atomic) vocabulary that the reference tokenizers always match, such as whitespace runs.
 */
public enum TokenType {
    NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE;

    /** The type for a GGUF code; unknown codes count as normal (as the reference does). */
    public static TokenType fromGguf(int code) {
        return switch (code) {
            case 2 -> UNKNOWN;
            case 3 -> CONTROL;
            case 4 -> USER_DEFINED;
            case 5 -> UNUSED;
            case 6 -> BYTE;
            default -> NORMAL;
        };
    }
}
