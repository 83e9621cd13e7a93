package ai.armature.protocol;

import java.util.Arrays;

/**
 * When a sequence ends, in token terms (stop strings are text and are the frontend's business): after
 * {@code maxTokens} generated tokens (finish reason length), on any of {@code stopTokenIds} (the user's own), or on
 * the model's end-of-generation tokens unless {@code ignoreEos} (both finish reason stop). The end-of-generation ids
 * are not part of a request: the worker owns them (it knows its model's tokenizer). Stop tokens are not emitted,
 * nor counted as completion tokens, unless {@code includeStopToken}. {@code minTokens}: no stop or end-of-generation
 * token can be generated before that many tokens (the worker masks them, as vLLM's {@code min_tokens} does). Both
 * limits count the tokens this request generates from its prompt: a resumed request carries earlier tokens in its
 * prompt and asks only for what is left.
 */
public record StopConditions(int maxTokens, int[] stopTokenIds, boolean ignoreEos, boolean includeStopToken, int minTokens) {

    public StopConditions {
        if (maxTokens < 1) throw new IllegalArgumentException("max tokens must be >= 1, got " + maxTokens);
        if (minTokens < 0) throw new IllegalArgumentException("min tokens must be >= 0, got " + minTokens);
        if (minTokens > maxTokens) {
            throw new IllegalArgumentException("min tokens (" + minTokens + ") must not exceed max tokens (" + maxTokens + ")");
        }
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
    }

    /** Conditions without a minimum length. */
    public StopConditions(int maxTokens, int[] stopTokenIds, boolean ignoreEos, boolean includeStopToken) {
        this(maxTokens, stopTokenIds, ignoreEos, includeStopToken, 0);
    }

    public static StopConditions maxTokens(int maxTokens) {
        return new StopConditions(maxTokens, new int[0], false, false, 0);
    }

    public boolean isStopToken(int token) {
        for (int id : stopTokenIds) if (id == token) return true;
        return false;
    }

    @Override
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StopConditions s && s.maxTokens == maxTokens && Arrays.equals(s.stopTokenIds, stopTokenIds)
                && s.ignoreEos == ignoreEos && s.includeStopToken == includeStopToken && s.minTokens == minTokens;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(stopTokenIds) + maxTokens + (ignoreEos ? 7 : 0) + (includeStopToken ? 13 : 0) + 17 * minTokens;
    }

    @Override
    public String toString() {
        return "StopConditions[maxTokens=" + maxTokens + ", stopTokenIds=" + Arrays.toString(stopTokenIds)
                + ", ignoreEos=" + ignoreEos + ", includeStopToken=" + includeStopToken + ", minTokens=" + minTokens + "]";
    }
}
