package ai.armature.router.load;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Where router replicas exchange {@link LoadEvent}s: in one process, {@link #inProcess()}; across processes, the
 * runtime's event plane (NATS) behind the same interface. Delivery is in publish order per publisher; a listener
 * also receives the events its own router published (it ignores them by router id).
 */
public interface LoadBus {

    /** Publishes one event; must not block for long (called on request paths). */
    void publish(LoadEvent event);

    /** Registers a listener for every event published from now on; closing the handle unsubscribes. */
    AutoCloseable subscribe(Consumer<LoadEvent> listener);

    /** A bus that carries nothing: a single router. */
    LoadBus NONE = new LoadBus() {
        @Override
        public void publish(LoadEvent event) {
        }

        @Override
        public AutoCloseable subscribe(Consumer<LoadEvent> listener) {
            return () -> { };
        }
    };

    /** A bus for routers in one JVM: delivers each event to every listener on the publishing thread. */
    static LoadBus inProcess() {
        return new LoadBus() {
            private final CopyOnWriteArrayList<Consumer<LoadEvent>> listeners = new CopyOnWriteArrayList<>();

            @Override
            public void publish(LoadEvent event) {
                for (Consumer<LoadEvent> l : listeners) l.accept(event);
            }

            @Override
            public AutoCloseable subscribe(Consumer<LoadEvent> listener) {
                listeners.add(listener);
                return () -> listeners.remove(listener);
            }
        };
    }
}
