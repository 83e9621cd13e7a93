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
 * The text side of one choice: detokenizes its tokens once, as they arrive, applies stop strings (holding back text
 * that may start one, and ending the choice when one appears), counts the tokens it consumed, and collects
 * logprob entries for the tokens of the current step. Not thread-safe: one per choice, used by the request thread.
 */
final class ChoiceDecoder {

    /** One generated token's logprob, with its text and its top alternatives (already turned into text). */
    record LogprobEntry(String token, float logprob, String[] topTokens, float[] topLogprobs, int textOffset) {
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
    private int logprobTextOffset;
    private Usage lastUsage;
    private FinishReason finish;
    private String error;
    private boolean stoppedByString;

    ChoiceDecoder(int index, int promptLength, Tokenizer tokenizer, List<String> stopStrings, boolean wantLogprobs) {
        this(index, promptLength, tokenizer, stopStrings, wantLogprobs, false);
    }

    /** @param tokensAsIds logprob entries name tokens "token_id:N" (vLLM's return_tokens_as_token_ids) */
    ChoiceDecoder(int index, int promptLength, Tokenizer tokenizer, List<String> stopStrings, boolean wantLogprobs, boolean tokensAsIds) {
        this.tokensAsIds = tokensAsIds;
        this.index = index;
        this.promptLength = promptLength;
        this.tokenizer = tokenizer;
        this.detokenizer = tokenizer.streamingDetokenizer(false);
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
        String[] topText = new String[top == null ? 0 : top.length];
        for (int i = 0; i < topText.length; i++) topText[i] = tokenString(top[i]);
        String text = tokenString(lp.tokenId());
        int offset = logprobTextOffset;
        logprobTextOffset += text.length();
        return new LogprobEntry(text, lp.logprob(), topText, lp.topLogprobs() == null ? new float[0] : lp.topLogprobs(), offset);
    }

    private String tokenString(int id) {
        if (tokensAsIds) return "token_id:" + id;
        return tokenizer.decode(new int[] {id}, false);
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
