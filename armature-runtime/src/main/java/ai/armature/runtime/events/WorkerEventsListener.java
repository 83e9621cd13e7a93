package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.kv.KvEvent;

import java.util.List;

/**
 * Receives a model's worker events, one call at a time in the order each worker published them: KV events in id
 * order (a batch is consecutive ids), and load reports.
 */
public interface WorkerEventsListener {

    void kvEvents(String workerId, List<KvEvent> events);

    void load(String workerId, EngineStats load);
}
