package ai.armature.planner;

import java.util.Objects;

import ai.armature.protocol.TrafficCounters;

/**
 * What the planner saw of one pool during the interval that just ended: the traffic of all its workers (including
 * those that joined or left meanwhile), the traffic of the workers past their warm-up for the whole interval and how
 * many those were (only they correct the profile), the requests waiting in front of the pool when it ended
 * ({@code heldRequests}: held by the frontends because the pool had no worker, or waiting at the routers because
 * every worker was busy) and when it began ({@code startHeldRequests}), and from the workers' latest load reports
 * the mean requests running and waiting per serving worker and the mean share of their KV blocks in use.
 * {@code startWaitingRequests} and {@code startPendingPrefillTokens} are the most requests waiting, and the most prompt
 * tokens not yet computed, on one of the warm workers when the interval began (their load reports at the previous
 * decision): a warm worker that began it with a backlog delivered the backlog's latencies, not its own speed. The interval's arrivals ({@link #arrivals}) are the requests the workers admitted plus the change
 * in those waiting: a count of waiting requests is a level, not a rate.
 */
public record PoolObservation(
        Pool pool,
        double intervalSeconds,
        TrafficCounters traffic,
        TrafficCounters warmTraffic,
        int warmWorkers,
        int heldRequests,
        double runningPerWorker,
        double waitingPerWorker,
        double kvUsage,
        int startWaitingRequests,
        long startPendingPrefillTokens,
        int startHeldRequests) {

    public PoolObservation {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(traffic, "traffic");
        Objects.requireNonNull(warmTraffic, "warmTraffic");
        if (!(intervalSeconds > 0)) throw new IllegalArgumentException("an interval lasts > 0 seconds, got " + intervalSeconds);
        if (startWaitingRequests < 0 || startPendingPrefillTokens < 0) throw new IllegalArgumentException("backlog counts are >= 0");
        if (heldRequests < 0 || startHeldRequests < 0) throw new IllegalArgumentException("waiting requests are >= 0");
    }

    /**
     * Requests that arrived in the interval: those the workers admitted, plus those that began waiting in front of the
     * pool, less those that waited before it began and went to a worker during it (they were counted when they came).
     * Never below zero (a request handed back by a draining worker is admitted twice).
     */
    public double arrivals() {
        return Math.max(0, traffic.requests() + (long) heldRequests - startHeldRequests);
    }

    /** An observation whose warm workers began the interval with nothing waiting, nor any request in front of the pool. */
    public PoolObservation(Pool pool, double intervalSeconds, TrafficCounters traffic, TrafficCounters warmTraffic, int warmWorkers,
                           int heldRequests, double runningPerWorker, double waitingPerWorker, double kvUsage) {
        this(pool, intervalSeconds, traffic, warmTraffic, warmWorkers, heldRequests, runningPerWorker, waitingPerWorker, kvUsage, 0, 0, 0);
    }

    /** An interval in which nothing happened. */
    public static PoolObservation idle(Pool pool, double seconds) {
        return new PoolObservation(pool, seconds, TrafficCounters.ZERO, TrafficCounters.ZERO, 0, 0, 0, 0, 0);
    }
}
