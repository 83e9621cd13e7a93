package ai.armature.sim;

/**
 * The outcome of one simulated run (one routing policy), all in virtual time. Latencies in seconds; loads are the
 * fraction of the run a worker spent in steps; hit rates are prompt tokens served from workers' prefix caches
 * (as the workers reported them) over prompt tokens, and what the router predicted for the same requests.
 * {@code planner} is how the pool was sized ({@code static}, {@code sla}, {@code queue}) and {@code peakWorkers} the
 * most serving at once; {@code workerSeconds} the worker time provisioned until the last request ended (from when
 * each was asked for, start-up included); {@code sloAttainment} the share of requests within both the TTFT and the
 * mean-ITL target (a request lost misses); {@code utilization} busy worker-seconds over provisioned ones;
 * {@code scaleEvents} workers started or stopped; {@code requestsLost} requests that did not complete (and did not
 * time out); {@code requestsTimedOut} requests the router ended after waiting longer than its wait timeout for a
 * worker that was not busy (a 503 in serving; they miss the SLO);
 * {@code migrations} requests handed back by a draining worker and resumed on another; {@code ttftAttainment} and
 * {@code itlAttainment} the shares within each target alone. Disaggregated runs ({@code prefillWorkers} > 0 of the
 * {@code workers}, the rest decode): {@code remotePrefills} requests prefilled on a prefill worker,
 * {@code localPrefills} prefilled on their decode worker by the rule's choice (short, prefill queue full, ...),
 * {@code prefillFallbacks} remote prefills that failed and were computed locally, and the KV moved between workers:
 * {@code kvTransfers} transfers, {@code kvTransferBytes} bytes, {@code kvTransferSeconds} virtual seconds summed over
 * transfers (waits for a busy link included).
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
        long kvEvents,
        String planner,
        int peakWorkers,
        double workerSeconds,
        double sloAttainment,
        double utilization,
        long scaleEvents,
        long requestsLost,
        long migrations,
        double ttftAttainment,
        double itlAttainment,
        int prefillWorkers,
        long remotePrefills,
        long localPrefills,
        long prefillFallbacks,
        long kvTransfers,
        long kvTransferBytes,
        double kvTransferSeconds,
        long requestsTimedOut) {

    /** Output tokens per second per worker. */
    public double outputTokensPerSPerWorker() {
        return workers == 0 ? 0 : outputTokensPerS / workers;
    }

    /** "8" for aggregated workers, "2P+6D" for prefill and decode ones. */
    public String pool() {
        return prefillWorkers == 0 ? String.valueOf(workers) : prefillWorkers + "P+" + (workers - prefillWorkers) + "D";
    }
}
