package ai.armature.planner.connector;

import java.util.List;

import ai.armature.planner.Pool;

/**
 * Applies the planner's decisions to where workers run: simulated workers ({@code virtual}, inside
 * {@code armature simulate}), processes on this machine ({@code local}) or a Kubernetes Deployment per pool
 * ({@code kubernetes}). Workers it starts register through discovery (or the simulation) once they serve; until
 * then the planner counts them as starting. Stopping is always a drain: the worker deregisters, finishes what it
 * runs (or, past its drain timeout, hands it back for migration) and exits; a worker still starting is cancelled.
 * When a worker exits for any reason the connector tells its {@link Listener}.
 */
public interface Connector extends AutoCloseable {

    /** Hears about workers the connector saw exit. */
    interface Listener {
        /** Worker {@code workerId} exited (drained, cancelled, crashed or never came up). */
        void exited(String workerId);
    }

    /** The name {@code --connector} selects it by. */
    String name();

    /** Tells the connector whom to report exits to (before the first start). */
    void listen(Listener listener);

    /**
     * Starts {@code count} workers of {@code pool}; returns an id for each. An id is the worker id it will
     * register under when the connector chooses it (local, virtual), or a placeholder the first unknown worker of
     * the pool to register stands for (Kubernetes names pods itself).
     */
    List<String> start(Pool pool, int count);

    /**
     * Removes worker {@code workerId} of {@code pool}: a serving worker drains and exits, a starting one (possibly
     * a placeholder) is cancelled. Returns at once; the exit is reported to the listener.
     */
    void stop(Pool pool, String workerId, boolean serving);

    /** Stops managing: what was started keeps running unless the connector owns its processes. */
    @Override
    void close();
}
