package ai.armature.frontend;

import ai.armature.engine.tokenizer.StreamingDetokenizer;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.TokenLogprob;
import ai.armature.protocol.Usage;

import java.util.ArrayList;
import java.util.List;

/**
 * The text side of one choice: detokenizes its tokens once, as they arrive and in the context of the prompt (so a
 * SentencePiece completion keeps its first space and prompt + completion is the whole text), applies stop strings
 * (holding back text that may start one, and ending the choice when one appears), counts the tokens it consumed, and
 * collects logprob entries for the tokens of the current step. Not thread-safe: one per choice, used by the request
 * thread.
 */
final class ChoiceDecoder {

    /**
     * One token's logprob with its text, raw bytes and top alternatives (already turned into text), and where the
     * token starts in the choice's text (characters).
     */
    record LogprobEntry(String token, byte[] bytes, float logprob, String[] topTokens, byte[][] topBytes, float[] topLogprobs,
                        int textOffset) {
    }

    final int index;
    final int promptLength;
    private final Tokenizer tokenizer;
    private final StreamingDetokenizer detokenizer;
    private final StopStringMatcher stops;
    private final boolean wantLogprobs;
    private final boolean tokensAsIds;
    private final StringBuilder delta = new StringBuilder();
    private int[] stepTokenIds = new int[8];
    private int stepTokenCount;
    private final List<LogprobEntry> stepLogprobs = new ArrayList<>();
    private int consumedTokens;
    /** Characters decoded so far (before stop strings hold anything back): where the next token's text starts. */
    private int decodedChars;
    private Usage lastUsage;
    private FinishReason finish;
    private String error;
    private boolean stoppedByString;

    ChoiceDecoder(int index, int[] promptTokens, Tokenizer tokenizer, List<String> stopStrings, boolean wantLogprobs) {
        this(index, promptTokens, tokenizer, stopStrings, wantLogprobs, false);
    }

    /** @param tokensAsIds logprob entries name tokens "token_id:N" (vLLM's return_tokens_as_token_ids) */
    ChoiceDecoder(int index, int[] promptTokens, Tokenizer tokenizer, List<String> stopStrings, boolean wantLogprobs, boolean tokensAsIds) {
        this.tokensAsIds = tokensAsIds;
        this.index = index;
        this.promptLength = promptTokens.length;
        this.tokenizer = tokenizer;
        this.detokenizer = tokenizer.streamingDetokenizer(promptTokens, false);
        this.stops = stopStrings.isEmpty() ? null : new StopStringMatcher(stopStrings);
        this.wantLogprobs = wantLogprobs;
    }

    /**
     * Consumes one output item; afterwards {@link #delta()} holds the text it released and {@link #stepLogprobs()}
     * the logprobs of the tokens it consumed. Items after the choice finished are ignored.
     */
    void accept(GenerateOutput out) {
        delta.setLength(0);
        stepLogprobs.clear();
        stepTokenCount = 0;
        if (finish != null) return;
        if (out.usage() != null) lastUsage = out.usage();
        int[] ids = out.tokenIds();
        List<TokenLogprob> lps = out.logprobs();
        if (ids != null) {
            for (int i = 0; i < ids.length; i++) {
                consumedTokens++;
                if (stepTokenCount == stepTokenIds.length) stepTokenIds = java.util.Arrays.copyOf(stepTokenIds, stepTokenCount * 2);
                stepTokenIds[stepTokenCount++] = ids[i];
                if (wantLogprobs && lps != null && i < lps.size()) stepLogprobs.add(entry(lps.get(i)));
                String piece = detokenizer.accept(ids[i]);
                decodedChars += piece.length();
                if (stops == null) {
                    delta.append(piece);
                } else {
                    delta.append(stops.accept(piece));
                    if (stops.stopped()) {
                        stoppedByString = true;
                        finish = FinishReason.STOP;
                        return;
                    }
                }
            }
        }
        if (out.finished()) {
            String tail = detokenizer.flush();
            if (stops == null) {
                delta.append(tail);
            } else {
                delta.append(stops.accept(tail));
                if (stops.stopped()) {
                    stoppedByString = true;
                } else {
                    delta.append(stops.finish());
                }
            }
            finish = stoppedByString ? FinishReason.STOP : out.finishReason();
            error = out.error();
        }
    }

    private LogprobEntry entry(TokenLogprob lp) {
        int[] top = lp.topTokenIds();
        int n = top == null ? 0 : top.length;
        String[] topText = new String[n];
        byte[][] topBytes = new byte[n][];
        for (int i = 0; i < n; i++) {
            topBytes[i] = tokenBytes(top[i]);
            topText[i] = tokenString(top[i], topBytes[i]);
        }
        byte[] bytes = tokenBytes(lp.tokenId());
        return new LogprobEntry(tokenString(lp.tokenId(), bytes), bytes, lp.logprob(), topText, topBytes,
                lp.topLogprobs() == null ? new float[0] : lp.topLogprobs(), decodedChars);
    }

    /** How a token is named in logprobs: its text (or escaped bytes), or "token_id:N" when asked for ids. */
    private String tokenString(int id, byte[] bytes) {
        return tokensAsIds ? "token_id:" + id : TokenStrings.of(bytes);
    }

    /** A token's raw bytes; a control token (which adds no text) is shown by its own text, as OpenAI shows them. */
    private byte[] tokenBytes(int id) {
        byte[] b = tokenizer.tokenBytes(id);
        return b.length > 0 ? b : tokenizer.decode(new int[] {id}, true).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The text released by the last {@link #accept} call. */
    CharSequence delta() {
        return delta;
    }

    /** The token ids the last {@link #accept} call consumed (a copy). */
    int[] stepTokenIds() {
        return java.util.Arrays.copyOf(stepTokenIds, stepTokenCount);
    }

    List<LogprobEntry> stepLogprobs() {
        return stepLogprobs;
    }

    boolean finished() {
        return finish != null;
    }

    /** Whether a stop string ended this choice (so the engine's request must be cancelled). */
    boolean stoppedByString() {
        return stoppedByString;
    }

    FinishReason finishReason() {
        return finish;
    }

    String error() {
        return error;
    }

    int promptTokens() {
        return lastUsage != null ? lastUsage.promptTokens() : promptLength;
    }

    int cachedTokens() {
        return lastUsage != null ? lastUsage.cachedPromptTokens() : 0;
    }

    /** Generated tokens: what the engine reports, or what this choice consumed when a stop string cut it short. */
    int completionTokens() {
        if (!stoppedByString && lastUsage != null) return Math.max(lastUsage.completionTokens(), consumedTokens);
        return consumedTokens;
    }
}
