package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.kv.KvEventPublisher;

/**
 * One worker's side of the event plane: its KV events (from its engine thread, in id order; queued, never
 * blocking the engine) and its periodic load reports. Closing flushes what is queued.
 */
public interface WorkerEventPublisher extends KvEventPublisher, AutoCloseable {

    void publishLoad(EngineStats load);

    @Override
    void close();
}
