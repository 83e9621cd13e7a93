package ai.armature.engine.tokenizer;

/**
 * Turns a sequence's tokens into text one token at a time: each call returns only whole UTF-8 characters that
 * are final, so the concatenation of all returned pieces plus {@link #flush()} equals the full decode of the
 * same tokens. Not thread-safe: one per sequence.
 */
public interface StreamingDetokenizer {

    /** Feeds one token; returns the new text it completes (possibly empty, never null). */
    String accept(int tokenId);

    /** Ends the sequence; returns any text still held back (incomplete UTF-8 becomes U+FFFD as a full decode would). */
    String flush();
}
