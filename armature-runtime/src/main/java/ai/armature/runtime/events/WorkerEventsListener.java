package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.kv.KvEvent;

import java.util.List;

/**
 * Receives a model's worker events, one call at a time in the order each worker published them: KV events in id
 * order (a batch is consecutive ids), load reports, traffic counts, and frontends' held-request counts.
 */
public interface WorkerEventsListener {

    void kvEvents(String workerId, List<KvEvent> events);

    void load(String workerId, EngineStats load);

    /** A worker's cumulative traffic counts (the planner listens; routers need not). */
    default void traffic(String workerId, TrafficCounters traffic) {
    }

    /** A frontend ({@code sourceId}) has this many requests waiting: held for want of a worker, or at its router while every worker is busy. */
    default void held(String sourceId, int heldRequests) {
    }
}
