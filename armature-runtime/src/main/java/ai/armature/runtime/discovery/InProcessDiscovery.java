package ai.armature.runtime.discovery;

import ai.armature.protocol.ModelCard;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Discovery inside one JVM (embedded mode and tests): registrations are a map, watchers are called on the
 * registering thread. Nothing expires; a registration ends when it is closed.
 */
public final class InProcessDiscovery implements Discovery {

    private final Map<String, ModelCard> cards = new LinkedHashMap<>();
    private final List<DiscoveryListener> listeners = new ArrayList<>();

    @Override
    public synchronized Registration register(ModelCard card) {
        if (cards.putIfAbsent(card.workerId(), card) != null) {
            throw new IllegalArgumentException("a worker with id " + card.workerId() + " is already registered");
        }
        for (DiscoveryListener l : listeners) l.workerUp(card);
        return new Registration() {
            private boolean closed;

            @Override
            public boolean registered() {
                synchronized (InProcessDiscovery.this) {
                    return !closed;
                }
            }

            @Override
            public boolean awaitRegistered(java.time.Duration timeout) {
                return registered(); // registered at once, until closed
            }

            @Override
            public void close() {
                synchronized (InProcessDiscovery.this) {
                    if (closed) return;
                    closed = true;
                    cards.remove(card.workerId());
                    for (DiscoveryListener l : listeners) l.workerDown(card.workerId());
                }
            }
        };
    }

    @Override
    public synchronized AutoCloseable watch(DiscoveryListener listener) {
        listeners.add(listener);
        for (ModelCard c : cards.values()) listener.workerUp(c);
        return () -> {
            synchronized (InProcessDiscovery.this) {
                listeners.remove(listener);
            }
        };
    }

    @Override
    public synchronized void close() {
        listeners.clear();
    }
}
