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

    /**
     * The fast surge check between decisions ({@link Autoscaler#check}): {@code obs} covers the time since the last
     * decision. A larger target to start workers at once, or null to wait for the next decision. Never smaller: a
     * check between decisions only scales up. By default, none.
     */
    default Decision surge(double nowSeconds, PoolObservation obs, PoolFleet fleet) {
        return null;
    }

    /** How many workers to start at once when a request waits at a pool with none (at least 1). */
    int workersForDemandAtZero(Pool pool);
}
