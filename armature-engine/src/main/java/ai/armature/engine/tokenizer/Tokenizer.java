package ai.armature.engine.tokenizer;

/**
 * Text to token ids and back, agreeing exactly with the model's reference tokenizer. Thread-safe and immutable.
 * Special (control and user-defined) tokens are recognised in text only when {@code parseSpecial} is true, so
 * raw user text cannot inject them.
 */
public interface Tokenizer {

    /** Token ids of {@code text}; a BOS token first if {@code addBos} and the vocabulary has one. */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /** The text of {@code ids}; control tokens (BOS, EOS, ...) are rendered only if {@code renderSpecial}. */
    String decode(int[] ids, boolean renderSpecial);

    /** A fresh stateful decoder for one sequence that starts from nothing; see {@link StreamingDetokenizer}. */
    StreamingDetokenizer streamingDetokenizer(boolean renderSpecial);

    /**
     * A fresh decoder for tokens that continue {@code context} (a prompt): what it returns for the continuation is
     * exactly what decoding {@code context + continuation} adds to decoding {@code context} alone, so a
     * SentencePiece continuation keeps the space of its first word ({@code " piece"}, not {@code "piece"}) and
     * prompt text + completion text reproduces the whole text. (Bytes of a character the context leaves incomplete
     * are completed by the continuation and returned with it.) The default decodes a sliding window of tokens, as
     * vLLM's incremental detokenizer does; the built-in tokenizers work from per-token bytes in constant time.
     */
    default StreamingDetokenizer streamingDetokenizer(int[] context, boolean renderSpecial) {
        return new IncrementalDetokenizer(this, context, renderSpecial);
    }

    int vocabSize();

    /** BOS id, or -1 if none. */
    int bosTokenId();

    /** EOS id, or -1 if none. */
    int eosTokenId();

    /** Whether generating {@code id} ends the sequence (EOS, EOT, and the like). */
    boolean isEndOfGeneration(int id);

    /**
     * Every id that ends generation, ascending. Only the worker uses this (it owns end-of-generation for its
     * model); a frontend sends just the user's own stop token ids.
     */
    default int[] endOfGenerationIds() {
        int[] ids = new int[8];
        int n = 0;
        for (int id = 0; id < vocabSize(); id++) {
            if (!isEndOfGeneration(id)) continue;
            if (n == ids.length) ids = java.util.Arrays.copyOf(ids, n * 2);
            ids[n++] = id;
        }
        return java.util.Arrays.copyOf(ids, n);
    }

    /** Whether the model expects a BOS token at the start of a prompt. */
    boolean addBosByDefault();

    /** The vocabulary entry of {@code id} as stored (e.g. "▁the", "Ġthe", "<|eot_id|>"). */
    String tokenText(int id);

    /** The id of a vocabulary entry given exactly as stored, or -1. */
    int tokenId(String tokenText);

    /**
     * The bytes {@code id} adds to decoded text when special tokens are not rendered: possibly a partial UTF-8
     * sequence (byte tokens), empty for control tokens. Constrained decoding matches grammars against these.
     */
    default byte[] tokenBytes(int id) {
        return decode(new int[] {id}, false).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
