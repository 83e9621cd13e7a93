package ai.armature.cli;

import ai.armature.router.load.LoadBus;
import ai.armature.router.load.LoadEvent;
import ai.armature.router.load.LoadEventCodec;
import ai.armature.runtime.events.EventPlane;

import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Router replicas of one served model exchanging their load events over the runtime's event plane (NATS between
 * frontends, in memory within one JVM), encoded by {@link LoadEventCodec}.
 */
final class EventPlaneLoadBus implements LoadBus {

    private static final Logger LOG = Logger.getLogger(EventPlaneLoadBus.class.getName());

    private final EventPlane events;
    private final String servedModelName;

    EventPlaneLoadBus(EventPlane events, String servedModelName) {
        this.events = events;
        this.servedModelName = servedModelName;
    }

    @Override
    public void publish(LoadEvent event) {
        events.publishRouterEvent(servedModelName, LoadEventCodec.encode(event));
    }

    @Override
    public AutoCloseable subscribe(Consumer<LoadEvent> listener) {
        return events.subscribeRouterEvents(servedModelName, bytes -> {
            LoadEvent e;
            try {
                e = LoadEventCodec.decode(bytes);
            } catch (IllegalArgumentException ex) {
                LOG.warning(() -> "ignoring an unreadable router load event of model '" + servedModelName + "': " + ex.getMessage());
                return;
            }
            listener.accept(e);
        });
    }
}
