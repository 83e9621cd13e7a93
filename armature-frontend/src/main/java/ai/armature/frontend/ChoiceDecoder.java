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
    private final int[] promptTokens;
    private final boolean promptOnly;
    /** The prompt's text when echoed, else null. */
    private final String echoText;
    /** The prompt tokens' logprobs (the first has none), once the worker sent them; else null. */
    private List<TokenLogprob> promptLogprobs;
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
    private GenerateOutput.ErrorKind errorKind;
    private boolean stoppedByString;
    private boolean endedEarly;
    private String stopString;
    /** Control tokens whose text is kept in the output (a tool-call parser's markers), sorted; empty: none. */
    private int[] rendered = new int[0];

    ChoiceDecoder(int index, int[] promptTokens, Tokenizer tokenizer, List<String> stopStrings, boolean wantLogprobs) {
        this(index, promptTokens, tokenizer, stopStrings, wantLogprobs, false, false, false);
    }

    /**
     * @param tokensAsIds logprob entries name tokens "token_id:N" (vLLM's return_tokens_as_token_ids)
     * @param echo        the choice's text starts with the prompt's (and its logprobs with the prompt tokens')
     * @param promptOnly  max_tokens 0: what the worker generates is not part of the choice (nothing is counted)
     */
    ChoiceDecoder(int index, int[] promptTokens, Tokenizer tokenizer, List<String> stopStrings, boolean wantLogprobs, boolean tokensAsIds,
                  boolean echo, boolean promptOnly) {
        this.tokensAsIds = tokensAsIds;
        this.index = index;
        this.promptTokens = promptTokens;
        this.promptLength = promptTokens.length;
        this.tokenizer = tokenizer;
        this.detokenizer = tokenizer.streamingDetokenizer(promptTokens, false);
        this.stops = stopStrings.isEmpty() ? null : new StopStringMatcher(stopStrings);
        this.wantLogprobs = wantLogprobs;
        this.promptOnly = promptOnly;
        this.echoText = echo ? tokenizer.decode(promptTokens, false) : null;
        // Offsets of the completion's tokens count from the start of the text the client gets.
        this.decodedChars = echo ? echoText.length() : 0;
    }

    /**
     * Keeps the text of these control tokens in the output (they are dropped otherwise): the markers a tool-call
     * or reasoning parser reads, such as {@code <|python_tag|>} or {@code [TOOL_CALLS]}. Returns this decoder.
     */
    ChoiceDecoder rendering(int[] controlTokenIds) {
        rendered = controlTokenIds.clone();
        java.util.Arrays.sort(rendered);
        return this;
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
        if (out.promptLogprobs() != null && promptLogprobs == null) promptLogprobs = out.promptLogprobs();
        if (promptOnly) {
            // Only the prompt was asked for: the one token the worker made is dropped, and the choice ends at length.
            if (out.finished() || out.tokenIds() != null && out.tokenIds().length > 0) {
                finish = out.finished() && out.finishReason() != FinishReason.LENGTH && out.finishReason() != FinishReason.STOP
                        ? out.finishReason() : FinishReason.LENGTH;
                error = out.error();
                errorKind = out.errorKind();
                endedEarly = !out.finished();
            }
            return;
        }
        int[] ids = out.tokenIds();
        List<TokenLogprob> lps = out.logprobs();
        if (ids != null) {
            for (int i = 0; i < ids.length; i++) {
                consumedTokens++;
                if (stepTokenCount == stepTokenIds.length) stepTokenIds = java.util.Arrays.copyOf(stepTokenIds, stepTokenCount * 2);
                stepTokenIds[stepTokenCount++] = ids[i];
                if (wantLogprobs && lps != null && i < lps.size()) stepLogprobs.add(entry(lps.get(i)));
                String piece = detokenizer.accept(ids[i]);
                if (rendered.length > 0 && java.util.Arrays.binarySearch(rendered, ids[i]) >= 0) {
                    piece = piece + tokenizer.decode(new int[] {ids[i]}, true);
                }
                decodedChars += piece.length();
                if (stops == null) {
                    delta.append(piece);
                } else {
                    delta.append(stops.accept(piece));
                    if (stops.stopped()) {
                        stoppedByString = true;
                        stopString = stops.matched();
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
                    stopString = stops.matched();
                } else {
                    delta.append(stops.finish());
                }
            }
            finish = stoppedByString ? FinishReason.STOP : out.finishReason();
            error = out.error();
            errorKind = stoppedByString ? null : out.errorKind();
        }
    }

    /** The prompt's text when echoed, else null. */
    String echoText() {
        return echoText;
    }

    /** Whether a prompt-only choice ended before its stream did (the stream must then be cancelled). */
    boolean endedEarly() {
        return endedEarly;
    }

    /**
     * The prompt tokens as logprob entries (echo with logprobs): the first token has none (NaN, written as null), the
     * others their logprob and top alternatives; offsets are where each token's text starts in the prompt's text.
     */
    List<LogprobEntry> promptEntries() {
        List<LogprobEntry> out = new ArrayList<>(promptLength);
        StreamingDetokenizer text = tokenizer.streamingDetokenizer(new int[0], false);
        int offset = 0;
        for (int i = 0; i < promptLength; i++) {
            TokenLogprob lp = i == 0 || promptLogprobs == null || i >= promptLogprobs.size() ? null : promptLogprobs.get(i);
            int id = promptTokens[i];
            byte[] bytes = tokenBytes(id);
            if (lp == null) {
                out.add(new LogprobEntry(tokenString(id, bytes), bytes, Float.NaN, null, null, null, offset));
            } else {
                LogprobEntry e = entry(lp);
                out.add(new LogprobEntry(e.token(), e.bytes(), e.logprob(), e.topTokens(), e.topBytes(), e.topLogprobs(), offset));
            }
            offset += text.accept(id).length();
        }
        return out;
    }

    /**
     * One prompt position of vLLM's prompt_logprobs: the prompt's own token first, then the top alternatives not
     * already listed, each with its logprob, rank (-1 unknown) and text.
     */
    record PromptPosition(int[] ids, float[] logprobs, int[] ranks, String[] decoded) {
    }

    /** vLLM's prompt_logprobs of this choice's prompt: one per token, the first null; null when the worker sent none. */
    List<PromptPosition> promptPositions() {
        if (promptLogprobs == null) return null;
        List<PromptPosition> out = new ArrayList<>(promptLength);
        for (int i = 0; i < promptLength; i++) {
            TokenLogprob lp = i == 0 || i >= promptLogprobs.size() ? null : promptLogprobs.get(i);
            if (lp == null) {
                out.add(null);
                continue;
            }
            int[] top = lp.topTokenIds() == null ? new int[0] : lp.topTokenIds();
            int n = 1;
            int[] ids = new int[top.length + 1];
            float[] lps = new float[top.length + 1];
            int[] ranks = new int[top.length + 1];
            ids[0] = lp.tokenId();
            lps[0] = lp.logprob();
            ranks[0] = lp.rank();
            for (int k = 0; k < top.length; k++) {
                if (top[k] == lp.tokenId()) continue;
                ids[n] = top[k];
                lps[n] = lp.topLogprobs()[k];
                ranks[n++] = k + 1;
            }
            String[] decoded = new String[n];
            for (int k = 0; k < n; k++) decoded[k] = tokensAsIds ? "token_id:" + ids[k] : tokenizer.decode(new int[] {ids[k]}, false);
            out.add(new PromptPosition(java.util.Arrays.copyOf(ids, n), java.util.Arrays.copyOf(lps, n),
                    java.util.Arrays.copyOf(ranks, n), decoded));
        }
        return out;
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

    /** The stop string that ended this choice, or null. */
    String stopString() {
        return stopString;
    }

    /** How many tokens the last {@link #accept} call consumed. */
    int stepTokens() {
        return stepTokenCount;
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

    /** Why the choice failed when it ended with ERROR (else null). */
    GenerateOutput.ErrorKind errorKind() {
        return errorKind;
    }

    int promptTokens() {
        return lastUsage != null ? lastUsage.promptTokens() : promptLength;
    }

    int cachedTokens() {
        return lastUsage != null ? lastUsage.cachedPromptTokens() : 0;
    }

    /** Generated tokens: what the engine reports, or what this choice consumed when a stop string cut it short. */
    int completionTokens() {
        if (promptOnly) return 0;
        if (!stoppedByString && lastUsage != null) return Math.max(lastUsage.completionTokens(), consumedTokens);
        return consumedTokens;
    }
}
