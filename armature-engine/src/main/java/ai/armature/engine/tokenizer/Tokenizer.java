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

    /** A fresh stateful decoder for one sequence; see {@link StreamingDetokenizer}. */
    StreamingDetokenizer streamingDetokenizer(boolean renderSpecial);

    int vocabSize();

    /** BOS id, or -1 if none. */
    int bosTokenId();

    /** EOS id, or -1 if none. */
    int eosTokenId();

    /** Whether generating {@code id} ends the sequence (EOS, EOT, and the like). */
    boolean isEndOfGeneration(int id);

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
