package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.local.LocalNats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The event plane on a real nats-server with a token (skipped without the binary): KV events arrive in id order
 * without gaps, per model subject, with load reports; after NATS restarts publishers and subscribers carry on.
 */
class NatsEventPlaneTest {

    @TempDir
    static Path dir;
    private static LocalNats nats;

    @BeforeAll
    static void startNats() throws Exception {
        var bin = LocalNats.find();
        Assumptions.assumeTrue(bin.isPresent(), "nats-server is not installed: apt-get install nats-server (tests that need NATS are skipped)");
        nats = new LocalNats(bin.get(), dir.resolve("nats"), "s3cret");
        nats.start();
    }

    @AfterAll
    static void stopNats() {
        if (nats != null) nats.close();
    }

    private static NatsEventPlane plane() throws Exception {
        return new NatsEventPlane(PlaneUrl.parse(nats.url(), "--events", "nats", "tls"), "test", "test");
    }

    /** Collects one model's events. */
    private static final class Collected implements WorkerEventsListener {
        final List<KvEvent> events = new CopyOnWriteArrayList<>();
        final Map<String, EngineStats> loads = new ConcurrentHashMap<>();

        @Override
        public void kvEvents(String workerId, List<KvEvent> batch) {
            events.addAll(batch);
        }

        @Override
        public void load(String workerId, EngineStats load) {
            loads.put(workerId, load);
        }

        boolean gapFree() {
            for (int i = 0; i < events.size(); i++) if (events.get(i).eventId() != i + 1) return false;
            return true;
        }
    }

    @Test
    void eventsArriveInOrderPerModelAndSurviveARestart() throws Exception {
        try (NatsEventPlane worker = plane(); NatsEventPlane router = plane()) {
            Collected a = new Collected();
            Collected b = new Collected();
            router.subscribe("model/a.1", a);
            router.subscribe("model-b", b);
            router.flush(Duration.ofSeconds(10)); // the subscriptions are in place before anything is published
            WorkerEventPublisher pub = worker.publisher("model/a.1", "w1");
            for (long id = 1; id <= 5000; id++) pub.publish(new KvEvent.BlockStored(id, id, id - 1, 2, new int[] {1, 2}));
            pub.publishLoad(new EngineStats(1, 2, 100, 10, 5, 0, 0));
            await(() -> a.events.size() == 5000 && a.loads.containsKey("w1"));
            assertThat(a.gapFree()).isTrue();
            assertThat(b.events).isEmpty();
            assertThat(a.loads.get("w1").runningRequests()).isEqualTo(2);

            nats.restart();
            await(worker::connected);
            await(router::connected);
            // Connected is not resubscribed: the router's subscriptions are resent on its new connection, and only a
            // round trip on that connection says the server has them (the publisher is another connection).
            router.flush(Duration.ofSeconds(10));
            for (long id = 5001; id <= 5100; id++) pub.publish(new KvEvent.BlockRemoved(id, id));
            await(() -> a.events.size() == 5100);
            assertThat(a.gapFree()).isTrue();
            pub.close();
        }
    }

    /**
     * A NATS outage long enough to fill the client's reconnect buffer: the publisher drops what does not fit instead
     * of dying, and once NATS is back its events flow again (after a gap in event ids, which routers resync).
     */
    @Test
    void aPublisherOutlivesAnOutageThatOverflowsTheReconnectBuffer() throws Exception {
        try (NatsEventPlane worker = plane(); NatsEventPlane router = plane()) {
            Collected a = new Collected();
            router.subscribe("overflow", a);
            router.flush(Duration.ofSeconds(10));
            WorkerEventPublisher pub = worker.publisher("overflow", "w1");
            nats.stop(false);
            await(() -> !worker.connected());
            // About 20 bytes per event on the wire: a million events are far more than the client's 8 MB reconnect buffer.
            long last = 1_000_000;
            for (long id = 1; id <= last; id++) pub.publish(new KvEvent.BlockStored(id, id, id - 1, 2, new int[] {1, 2}));
            await(() -> ((NatsEventPlane.NatsPublisher) pub).droppedMessages() > 0);
            nats.start();
            await(worker::connected);
            await(router::connected);
            router.flush(Duration.ofSeconds(10));
            for (long id = last + 1; id <= last + 100; id++) pub.publish(new KvEvent.BlockRemoved(id, id));
            await(() -> !a.events.isEmpty() && a.events.getLast().eventId() == last + 100);
            assertThat(a.events.size()).as("some events were dropped").isLessThan((int) last + 100);
            pub.close();
        }
    }

    @Test
    void aWrongTokenIsRefused() {
        String bad = nats.url().replace("s3cret", "wrong");
        try (NatsEventPlane p = new NatsEventPlane(PlaneUrl.parse(bad, "--events", "nats", "tls"), "test", "t")) {
            assertThatThrownBy(() -> p.flush(Duration.ofSeconds(2))).isInstanceOf(java.util.concurrent.TimeoutException.class);
            assertThat(p.connected()).isFalse();
        } catch (Exception e) {
            assertThat(e).hasMessageContaining("Authorization");
        }
        assertThat(NatsEventPlane.token("a.b c")).startsWith("a_b_c-").doesNotContain(".");
    }

    static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached within the hang guard");
            Thread.sleep(20);
        }
    }
}
