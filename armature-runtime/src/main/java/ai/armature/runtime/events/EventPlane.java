package ai.armature.runtime.events;

/**
 * Where workers publish their KV events and load reports and routers read them, one stream per namespace and
 * served model. A worker's KV event ids stay gap-free as published; a subscriber that sees a gap (events lost in
 * an outage) resynchronises from the worker's snapshot. Implementations: {@link InProcessEventPlane} and
 * {@link NatsEventPlane}. Thread-safe.
 */
public interface EventPlane extends AutoCloseable {

    /** A publisher of one worker's events on its model's stream. */
    WorkerEventPublisher publisher(String servedModelName, String workerId);

    /** Starts delivering the events of {@code servedModelName}'s workers to {@code listener} until closed. */
    AutoCloseable subscribe(String servedModelName, WorkerEventsListener listener);

    /**
     * Publishes one message of the routers of {@code servedModelName} to each other (router replicas share their load
     * bookkeeping; the payload is the router's own encoding). Every subscriber of the model gets it, the publisher's
     * own subscription included.
     */
    void publishRouterEvent(String servedModelName, byte[] payload);

    /** Starts delivering the router messages of {@code servedModelName} to {@code listener}, in publish order per publisher. */
    AutoCloseable subscribeRouterEvents(String servedModelName, java.util.function.Consumer<byte[]> listener);

    @Override
    void close();
}
