package ai.armature.planner;

import java.util.EnumMap;
import java.util.Map;

/**
 * The baseline autoscaler ({@code --planner queue}): reacts to the workers' load reports, the way threshold
 * autoscalers (Kubernetes HPA on a queue metric, Dynamo's load-based planner) do. Each interval it adds one worker
 * when requests wait (more than {@link #UP_WAITING} per serving worker, counting those waiting at the workers and
 * those the routers hold while every worker is busy) or the KV caches fill (above {@link #UP_KV}), and
 * removes one after {@link #DOWN_INTERVALS} calm intervals in a row (no more than {@link #DOWN_WAITING} waiting per
 * worker and KV use below {@link #DOWN_KV}), never within {@link #DOWN_INTERVALS} intervals of adding one. It knows
 * nothing of the targets, the profile or the startup time. Held requests at a pool with no worker start one.
 */
public final class QueueThresholdPolicy implements ScalingPolicy {

    static final double UP_WAITING = 1, UP_KV = 0.8, DOWN_WAITING = 0.05, DOWN_KV = 0.4;
    static final int DOWN_INTERVALS = 3;

    private final int minWorkers, maxWorkers;
    private final Map<Pool, int[]> calm = new EnumMap<>(Pool.class); // {calm intervals, intervals since scale-up}

    public QueueThresholdPolicy(int minWorkers, int maxWorkers) {
        if (minWorkers < 0 || maxWorkers < Math.max(1, minWorkers)) throw new IllegalArgumentException("bad worker bounds " + minWorkers + ".." + maxWorkers);
        this.minWorkers = minWorkers;
        this.maxWorkers = maxWorkers;
    }

    @Override
    public String name() {
        return "queue";
    }

    @Override
    public int workersForDemandAtZero(Pool pool) {
        return Math.max(1, minWorkers);
    }

    @Override
    public Decision decide(double now, PoolObservation obs, PoolFleet fleet) {
        int[] c = calm.computeIfAbsent(obs.pool(), p -> new int[] {0, DOWN_INTERVALS});
        int current = fleet.capacity();
        double rate = obs.arrivals() / obs.intervalSeconds();
        // Requests the routers hold back (every worker busy) queue for this pool as much as those queued on the workers.
        double waiting = obs.waitingPerWorker() + (fleet.serving() > 0 ? (double) obs.heldRequests() / fleet.serving() : 0);
        int target = current;
        Decision.Reason reason = Decision.Reason.HOLD;
        c[1]++;
        if (current == 0 && obs.heldRequests() > 0) {
            target = workersForDemandAtZero(obs.pool());
            reason = Decision.Reason.DEMAND_AT_ZERO;
            c[0] = 0;
            c[1] = 0;
        } else if (fleet.serving() > 0 && (waiting > UP_WAITING || obs.kvUsage() > UP_KV) && fleet.starting() == 0) {
            target = current + 1;
            reason = Decision.Reason.SCALE_UP;
            c[0] = 0;
            c[1] = 0;
        } else if (waiting <= DOWN_WAITING && obs.kvUsage() < DOWN_KV && obs.heldRequests() == 0) {
            if (++c[0] >= DOWN_INTERVALS && c[1] >= DOWN_INTERVALS && current > minWorkers) {
                target = current - 1;
                reason = Decision.Reason.SCALE_DOWN;
                c[0] = 0;
            }
        } else {
            c[0] = 0;
        }
        if (target < minWorkers) {
            target = minWorkers;
            reason = target > current ? Decision.Reason.SCALE_UP : reason;
        }
        if (target > maxWorkers) {
            target = maxWorkers;
            reason = Decision.Reason.AT_MAXIMUM;
        }
        if (target == current && reason != Decision.Reason.AT_MAXIMUM) reason = Decision.Reason.HOLD;
        return new Decision(obs.pool(), now, current, target, reason, rate, rate, null, null, obs);
    }
}
