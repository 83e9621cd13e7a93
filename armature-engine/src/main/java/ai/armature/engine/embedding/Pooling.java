package ai.armature.engine.embedding;

/**
 * How a sequence's hidden states become one embedding: the first token's ({@code CLS}, BERT/bge), the mean over
 * tokens ({@code MEAN}, sentence-transformers / nomic-embed), or the last token's ({@code LAST}, decoder models, as
 * vLLM pools them). GGUF's {@code {arch}.pooling_type} numbers are 1 = mean, 2 = cls, 3 = last.
 */
public enum Pooling {
    MEAN, CLS, LAST;

    public static Pooling fromGguf(int code, Pooling fallback) {
        return switch (code) {
            case 1 -> MEAN;
            case 2 -> CLS;
            case 3 -> LAST;
            default -> fallback;
        };
    }
}
