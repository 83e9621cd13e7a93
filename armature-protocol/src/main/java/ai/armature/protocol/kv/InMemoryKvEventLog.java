package ai.armature.protocol.kv;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-memory {@link KvEventPublisher}: keeps a bounded window of the most recent events (in order, the oldest
 * dropped first) and forwards each event to its subscribers on the publishing thread. A consumer that missed
 * events asks {@link #eventsAfter} for them and resynchronises from a snapshot when they fell out of the window.
 * For embedded mode and tests. Thread-safe.
 */
public final class InMemoryKvEventLog implements KvEventPublisher {

    /** The default window: enough for a few seconds of a busy worker's events. */
    public static final int DEFAULT_CAPACITY = 65_536;

    private final int capacity;
    private final ArrayDeque<KvEvent> events = new ArrayDeque<>();
    private final List<KvEventPublisher> subscribers = new CopyOnWriteArrayList<>();
    private long published;

    public InMemoryKvEventLog() {
        this(DEFAULT_CAPACITY);
    }

    public InMemoryKvEventLog(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("the event window must hold at least 1 event, got " + capacity);
        this.capacity = capacity;
    }

    @Override
    public void publish(KvEvent event) {
        synchronized (events) {
            if (events.size() == capacity) events.removeFirst();
            events.addLast(event);
            published++;
        }
        for (KvEventPublisher s : subscribers) s.publish(event);
    }

    /** Adds a subscriber that receives every event published from now on. */
    public void subscribe(KvEventPublisher subscriber) {
        subscribers.add(subscriber);
    }

    /** A copy of the events in the window, oldest first. */
    public List<KvEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /**
     * The events with ids greater than {@code eventId}, oldest first, or empty if some of them already left the
     * window (the caller must resynchronise from a snapshot).
     */
    public Optional<List<KvEvent>> eventsAfter(long eventId) {
        synchronized (events) {
            if (!events.isEmpty() && events.peekFirst().eventId() > eventId + 1) return Optional.empty();
            List<KvEvent> after = new ArrayList<>();
            for (KvEvent e : events) if (e.eventId() > eventId) after.add(e);
            return Optional.of(after);
        }
    }

    /** Events in the window. */
    public int size() {
        synchronized (events) {
            return events.size();
        }
    }

    /** Events published so far, including those that left the window. */
    public long published() {
        synchronized (events) {
            return published;
        }
    }
}
