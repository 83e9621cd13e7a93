package ai.armature.planner.model;

/**
 * What a pool of {@code workers} would deliver at a workload: TTFT and ITL at the SLO's attainment quantile and on
 * average (seconds; 0 where the pool does not do that phase), the mean number of sequences decoding per worker,
 * and the share of each worker's time spent in steps. {@code feasible} is false when the pool cannot keep up at
 * all (queues grow without bound, or the batch would exceed the worker's sequences or KV cache).
 */
public record Estimate(int workers, boolean feasible, double ttft, double itl, double ttftMean, double itlMean,
                       double batchPerWorker, double utilization) {

    static Estimate infeasible(int workers) {
        return new Estimate(workers, false, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY,
                Double.POSITIVE_INFINITY, Double.NaN, 1);
    }

    /** Whether it meets {@code slo} (the phases the pool does). */
    public boolean meets(Slo slo) {
        return feasible && ttft <= slo.ttftSeconds() && itl <= slo.itlSeconds();
    }
}
