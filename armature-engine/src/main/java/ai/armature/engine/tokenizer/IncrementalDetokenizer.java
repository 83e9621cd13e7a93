package ai.armature.engine.tokenizer;

import java.util.Arrays;

/**
 * Streams the text of tokens that continue a context, for any {@link Tokenizer}, by decoding a short window: the
 * text new since the last call is {@code decode(tokens[prefix, end)) minus decode(tokens[prefix, read))}, released
 * only when it does not end in an incomplete character (U+FFFD). Decoding a window rather than everything keeps a
 * step cheap, and both decodes start at the same token, so whatever a decoder does at the start of its input (a
 * SentencePiece leading space) cancels out. The window starts a few tokens into the context, as vLLM's incremental
 * detokenizer does, because decoders look at neighbours only.
 */
final class IncrementalDetokenizer implements StreamingDetokenizer {

    /** Context tokens kept before the continuation: enough for any decoder's look-back across a word or character. */
    static final int CONTEXT_TOKENS = 6;

    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private int[] tokens;
    private int size;
    private int prefix;
    private int read;

    IncrementalDetokenizer(Tokenizer tokenizer, int[] context, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
        int keep = Math.min(CONTEXT_TOKENS, context.length);
        this.tokens = Arrays.copyOfRange(context, context.length - keep, Math.max(context.length, context.length - keep + 16));
        this.size = keep;
        this.prefix = 0;
        this.read = keep;
    }

    @Override
    public String accept(int tokenId) {
        if (size == tokens.length) tokens = Arrays.copyOf(tokens, size * 2);
        tokens[size++] = tokenId;
        String before = decode(prefix, read);
        String now = decode(prefix, size);
        if (now.length() <= before.length() || now.endsWith("\uFFFD")) return "";
        String delta = now.substring(before.length());
        // Only the window since the last release is ever decoded again.
        System.arraycopy(tokens, read, tokens, 0, size - read);
        size -= read;
        prefix = 0;
        read = size;
        return delta;
    }

    @Override
    public String flush() {
        String before = decode(prefix, read);
        String now = decode(prefix, size);
        prefix = read = size;
        return now.length() > before.length() ? now.substring(before.length()) : "";
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(tokens, from, to), renderSpecial);
    }
}
