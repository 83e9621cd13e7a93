package ai.armature.protocol;

import java.util.Arrays;

/**
 * When a sequence ends, in token terms (stop strings are text and are the frontend's business): after
 * {@code maxTokens} generated tokens (finish reason length), on any of {@code stopTokenIds}, or on the model's
 * end-of-generation tokens unless {@code ignoreEos} (both finish reason stop). Stop tokens are not emitted
 * unless {@code includeStopToken}.
 */
public record StopConditions(int maxTokens, int[] stopTokenIds, boolean ignoreEos, boolean includeStopToken) {

    public StopConditions {
        if (maxTokens < 1) throw new IllegalArgumentException("max tokens must be >= 1, got " + maxTokens);
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
    }

    public static StopConditions maxTokens(int maxTokens) {
        return new StopConditions(maxTokens, new int[0], false, false);
    }

    public boolean isStopToken(int token) {
        for (int id : stopTokenIds) if (id == token) return true;
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StopConditions s && s.maxTokens == maxTokens && Arrays.equals(s.stopTokenIds, stopTokenIds)
                && s.ignoreEos == ignoreEos && s.includeStopToken == includeStopToken;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(stopTokenIds) + maxTokens + (ignoreEos ? 7 : 0) + (includeStopToken ? 13 : 0);
    }

    @Override
    public String toString() {
        return "StopConditions[maxTokens=" + maxTokens + ", stopTokenIds=" + Arrays.toString(stopTokenIds)
                + ", ignoreEos=" + ignoreEos + ", includeStopToken=" + includeStopToken + "]";
    }
}
