package ai.armature.protocol.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-memory {@link KvEventPublisher}: keeps every event (in order) and forwards each to its subscribers, on the
 * publishing thread. For embedded mode and tests. Thread-safe.
 */
public final class InMemoryKvEventLog implements KvEventPublisher {

    private final List<KvEvent> events = new ArrayList<>();
    private final List<KvEventPublisher> subscribers = new CopyOnWriteArrayList<>();

    @Override
    public void publish(KvEvent event) {
        synchronized (events) {
            events.add(event);
        }
        for (KvEventPublisher s : subscribers) s.publish(event);
    }

    /** Adds a subscriber that receives every event published from now on. */
    public void subscribe(KvEventPublisher subscriber) {
        subscribers.add(subscriber);
    }

    /** A copy of all events published so far, in order. */
    public List<KvEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    public int size() {
        synchronized (events) {
            return events.size();
        }
    }
}
