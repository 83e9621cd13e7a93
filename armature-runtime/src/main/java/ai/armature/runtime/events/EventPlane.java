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

    @Override
    void close();
}
