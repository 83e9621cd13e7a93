package ai.armature.planner;

import ai.armature.planner.model.Corrections;
import ai.armature.planner.model.Estimate;

/**
 * One decision for one pool: the workers it had (serving + starting) and should have, why, the request rate
 * observed in the interval and the highest forecast over the startup horizon, the prediction for the target size,
 * the profile corrections in use (null for policies without a model) and what was observed (null for a decision
 * taken between intervals).
 */
public record Decision(Pool pool, double timeSeconds, int current, int target, Reason reason, double observedRate,
                       double forecastRate, Estimate predicted, Corrections corrections, PoolObservation observed) {

    /** Why the target is what it is. */
    public enum Reason {
        /** No change needed. */
        HOLD,
        /** The forecast over the startup horizon needs more workers. */
        SCALE_UP,
        /** The survivors are predicted within the scale-down margin for the whole delay window. */
        SCALE_DOWN,
        /** Between decisions, the arrivals since the last one clearly exceed what the pool's workers serve (up only). */
        SURGE,
        /** Requests wait at a pool with no worker. */
        DEMAND_AT_ZERO,
        /** Even the most workers allowed are predicted to miss a target. */
        AT_MAXIMUM
    }

    public int change() {
        return target - current;
    }
}
