package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.kv.KvEventPublisher;

/**
 * One worker's side of the event plane: its KV events (from its engine thread, in id order; queued, never
 * blocking the engine), its periodic load reports and traffic counts. A frontend uses one to report requests held
 * for want of a worker. Closing flushes what is queued.
 */
public interface WorkerEventPublisher extends KvEventPublisher, AutoCloseable {

    void publishLoad(EngineStats load);

    /** The worker's cumulative traffic counts (for the planner), sent with the next batch. */
    void publishTraffic(TrafficCounters traffic);

    /**
     * From a frontend: how many requests wait in front of the model's workers, held because the model has no worker
     * or waiting at its router because every worker is busy (0 when none).
     */
    void publishHeld(int heldRequests);

    @Override
    void close();
}
