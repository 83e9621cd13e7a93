package ai.armature.planner.model;

/**
 * What a pool of {@code workers} would deliver at a workload: TTFT and ITL at the SLO's attainment quantile and on
 * average (seconds; 0 where the pool does not do that phase), the mean number of sequences decoding per worker,
 * and the share of each worker's time spent in steps. {@code feasible} is false when the pool cannot keep up at
 * all (queues grow without bound, or the batch would exceed the worker's sequences or KV cache). When estimated
 * against targets: {@code ttftMiss}, the share of requests predicted to miss the TTFT target, {@code ttftFloorMiss},
 * the share whose prompt takes longer than that even without waiting, and {@code itlMiss}, the share whose mean
 * inter-token latency misses the ITL target (NaN without targets, or for a phase the pool does not do).
 */
public record Estimate(int workers, boolean feasible, double ttft, double itl, double ttftMean, double itlMean,
                       double batchPerWorker, double utilization, double ttftMiss, double ttftFloorMiss, double itlMiss) {

    public Estimate(int workers, boolean feasible, double ttft, double itl, double ttftMean, double itlMean, double batchPerWorker,
                    double utilization) {
        this(workers, feasible, ttft, itl, ttftMean, itlMean, batchPerWorker, utilization, Double.NaN, Double.NaN, Double.NaN);
    }

    static Estimate infeasible(int workers) {
        return new Estimate(workers, false, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY,
                Double.POSITIVE_INFINITY, Double.NaN, 1, 1, Double.NaN, 1);
    }

    /**
     * Whether it meets {@code slo} (the phases the pool does). Estimated against the targets: the requests that
     * miss the TTFT target by waiting (beyond those too long for it alone, which no number of workers helps) plus
     * those that miss the ITL target stay within the SLO's allowed misses, less the long ones, but never above a
     * quarter of the allowance. Otherwise the quantile latencies are compared with the targets.
     */
    public boolean meets(Slo slo) {
        if (!feasible) return false;
        if (Double.isNaN(ttftMiss) && Double.isNaN(itlMiss)) return ttft <= slo.ttftSeconds() && itl <= slo.itlSeconds();
        double floor = Double.isNaN(ttftFloorMiss) ? 0 : ttftFloorMiss;
        double allowed = 1 - slo.attainment();
        double budget = Math.max(allowed / 4, allowed - floor);
        double used = (Double.isNaN(ttftMiss) ? 0 : ttftMiss - floor) + (Double.isNaN(itlMiss) ? 0 : itlMiss);
        return used <= budget + 1e-12;
    }
}
