package ai.armature.engine.tokenizer;

/**
 * Splits plain text into the words that byte-level BPE encodes independently (the "pre-tokenizer regex" of a
 * model family). Implementations are stateless and thread-safe.
 */
interface PreTokenizer {

    /** Receives one word as the range {@code [start, end)} of the text. */
    interface Sink {
        void word(int start, int end);
    }

    /** Reports the words of {@code text[start, end)} in order; together they cover the range exactly. */
    void split(String text, int start, int end, Sink sink);
}
