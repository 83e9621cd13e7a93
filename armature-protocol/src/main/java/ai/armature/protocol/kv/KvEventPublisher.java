package ai.armature.protocol.kv;

/**
 * Where a worker's KV events go: an in-memory log now, the event plane (NATS) later. Called on the worker's engine
 * thread in event-id order; implementations must return quickly and must not call back into the worker.
 */
@FunctionalInterface
public interface KvEventPublisher {

    void publish(KvEvent event);

    /** A publisher that drops every event (a worker nobody routes by cache overlap). */
    KvEventPublisher NONE = event -> { };
}
