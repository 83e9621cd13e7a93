package ai.armature.sim;

/**
 * The outcome of one simulated run (one routing policy), all in virtual time. Latencies in seconds; loads are the
 * fraction of the run a worker spent in steps; hit rates are prompt tokens served from workers' prefix caches
 * (as the workers reported them) over prompt tokens, and what the router predicted for the same requests.
 */
public record PolicyResult(
        String router,
        int workers,
        long requests,
        long completed,
        long failed,
        double ttftP50S,
        double ttftP90S,
        double ttftP99S,
        double ttftMeanS,
        double itlP50S,
        double itlP99S,
        double e2eP50S,
        double outputTokensPerS,
        long outputTokens,
        double prefixHitRate,
        double predictedHitRate,
        double busiestWorkerLoad,
        double idlestWorkerLoad,
        double simulatedSeconds,
        long preemptions,
        long kvEvents) {
}
