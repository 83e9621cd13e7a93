package ai.armature.planner;

/**
 * Decides how many workers each pool should have, once per interval, from what was observed. Implementations keep
 * their own history per pool. Not thread-safe: one caller (the autoscaler's loop).
 */
public interface ScalingPolicy {

    /** The name {@code --planner} selects it by. */
    String name();

    /** The target size of {@code obs.pool()} now, given the interval just observed and the pool's workers. */
    Decision decide(double nowSeconds, PoolObservation obs, PoolFleet fleet);

    /** How many workers to start at once when a request waits at a pool with none (at least 1). */
    int workersForDemandAtZero(Pool pool);
}
