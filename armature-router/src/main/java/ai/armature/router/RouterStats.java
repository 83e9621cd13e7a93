package ai.armature.router;

/**
 * A consistent snapshot of a router's counters. Prefix hits are counted in tokens twice, on the same requests:
 * {@code predictedHitTokens} is what the router expected cached on the worker it chose (over
 * {@code routedPromptTokens}), {@code reportedHitTokens} what the workers reported cached when those requests ended
 * (over {@code reportedPromptTokens}). {@code waitingRequests}: requests waiting now for a worker that is not busy;
 * {@code waitedTotal}: requests that ever waited; {@code waitTimeouts}: those that gave up; {@code releasedNewestFirst}:
 * those sent to a worker newest first, ahead of older ones, because the oldest had waited {@link RouterConfig#lifoAfter}.
 */
public record RouterStats(
        String policy,
        int workers,
        long decisions,
        long routedPromptTokens,
        long predictedHitTokens,
        long reportedPromptTokens,
        long reportedHitTokens,
        long indexedEntries,
        long indexedUniqueBlocks,
        long kvEventsApplied,
        long kvEventsDuplicate,
        long kvEventGaps,
        long kvSnapshots,
        int trackedRequests,
        int waitingRequests,
        long waitedTotal,
        long waitTimeouts,
        long releasedNewestFirst) {

    /** Predicted prefix hit rate: matched tokens over prompt tokens of routed requests (0 before any). */
    public double predictedHitRate() {
        return routedPromptTokens == 0 ? 0 : (double) predictedHitTokens / routedPromptTokens;
    }

    /** The workers' reported prefix hit rate for the requests this router sent them (0 before any ended). */
    public double reportedHitRate() {
        return reportedPromptTokens == 0 ? 0 : (double) reportedHitTokens / reportedPromptTokens;
    }
}
