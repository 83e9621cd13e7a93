package ai.armature.bench;

import java.util.Map;

/**
 * The figures of one run. Rates are per second of the run's window (start to end of the last request); latencies
 * in seconds. Only successful requests count towards tokens and latencies. Goodput is the rate of successful
 * requests whose TTFT is within {@code sloTtft} and whose mean inter-token latency ({@code (e2e - ttft) /
 * (tokens - 1)}) is within {@code sloItl}; without SLOs it equals the successful request rate.
 *
 * @param prefixCacheHitRate cached prompt tokens / prompt tokens over requests whose server reported
 *                           {@code cached_tokens}; NaN when none did
 * @param scheduleLag        how late requests were sent relative to their schedule (open loop and trace only)
 */
public record Summary(String load, long requestsTotal, long requestsCompleted, long requestsFailed,
                      double durationSeconds, double requestThroughput, double outputTokensPerSecond,
                      double totalTokensPerSecond, long inputTokens, long outputTokens, double goodput,
                      long goodRequests, double sloTtftSeconds, double sloItlSeconds, LatencyStats ttft,
                      LatencyStats itl, LatencyStats e2e, LatencyStats tpot, LatencyStats scheduleLag,
                      Map<String, Long> errorsByKind, double prefixCacheHitRate, double promptTokensRequestedMean,
                      double promptTokensActualMean, double outputTokensRequestedMean, double outputTokensActualMean,
                      long requestsWithUsage) {
}
