package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.kv.KvEvent;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The event plane inside one JVM: events (and router messages) go straight to the subscribers of their model, on
 * the publishing thread (so a subscriber must be quick, as a router's indexer is).
 */
public final class InProcessEventPlane implements EventPlane {

    private final Map<String, List<WorkerEventsListener>> listeners = new ConcurrentHashMap<>();
    private final Map<String, List<java.util.function.Consumer<byte[]>>> routerListeners = new ConcurrentHashMap<>();

    @Override
    public WorkerEventPublisher publisher(String servedModelName, String workerId) {
        return new WorkerEventPublisher() {
            @Override
            public void publish(KvEvent event) {
                for (WorkerEventsListener l : of(servedModelName)) l.kvEvents(workerId, List.of(event));
            }

            @Override
            public void publishLoad(EngineStats load) {
                for (WorkerEventsListener l : of(servedModelName)) l.load(workerId, load);
            }

            @Override
            public void publishTraffic(TrafficCounters traffic) {
                for (WorkerEventsListener l : of(servedModelName)) l.traffic(workerId, traffic);
            }

            @Override
            public void publishHeld(int heldRequests) {
                for (WorkerEventsListener l : of(servedModelName)) l.held(workerId, heldRequests);
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public AutoCloseable subscribe(String servedModelName, WorkerEventsListener listener) {
        of(servedModelName).add(listener);
        return () -> of(servedModelName).remove(listener);
    }

    @Override
    public void publishRouterEvent(String servedModelName, byte[] payload) {
        for (var l : routersOf(servedModelName)) l.accept(payload);
    }

    @Override
    public AutoCloseable subscribeRouterEvents(String servedModelName, java.util.function.Consumer<byte[]> listener) {
        routersOf(servedModelName).add(listener);
        return () -> routersOf(servedModelName).remove(listener);
    }

    private List<java.util.function.Consumer<byte[]>> routersOf(String model) {
        return routerListeners.computeIfAbsent(model, m -> new CopyOnWriteArrayList<>());
    }

    private List<WorkerEventsListener> of(String model) {
        return listeners.computeIfAbsent(model, m -> new CopyOnWriteArrayList<>());
    }

    @Override
    public void close() {
        listeners.clear();
        routerListeners.clear();
    }
}
