package ai.armature.sim;

/**
 * What a simulation replays: requests at instants of virtual time (open loop, a trace) or in reaction to earlier
 * replies (closed loop, conversations). Deterministic for a given seed.
 */
public interface SimWorkload {

    /** Where requests go and what time it is. */
    interface Context {
        /** The current virtual time in nanoseconds. */
        long now();

        /** Sends {@code request} at its arrival time. */
        void submit(SimRequest request);

        /** Runs {@code action} at virtual time {@code timeNanos} (workloads build requests when they are due). */
        void at(long timeNanos, Runnable action);
    }

    /** Called once at time 0: schedules the first requests. */
    void start(Context ctx);

    /** A request ended with these generated tokens (only kept when {@link #usesReplies()}; else empty). */
    default void finished(SimRequest request, int[] generated, Context ctx) {
    }

    /** Whether {@link #finished} needs the generated tokens. */
    default boolean usesReplies() {
        return false;
    }

    /** How many requests the workload will send in all. */
    long totalRequests();

    /** A short description for reports. */
    String describe();
}
