package ai.armature.runtime.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.RuntimeCodec;
import ai.armature.runtime.local.LocalNats;

/** Workers' traffic counts and frontends' held-request counts on the event plane (in process, and on real NATS). */
class TrafficEventsTest {

    static TrafficCounters sample() {
        long[] h = new long[TrafficCounters.BUCKET_BOUNDS.length + 1];
        h[7] = 3;
        long[] g = h.clone();
        g[2] = 9;
        return new TrafficCounters(12, 3400, 1.5e6, 11, 3300, 800, 2.25, h, 10, 1, 512, 30000, 9, 480, 4.8, g, 7.5, 1.25, 2600, 900);
    }

    static final class Collected implements WorkerEventsListener {
        final Map<String, TrafficCounters> traffic = new ConcurrentHashMap<>();
        final Map<String, Integer> held = new ConcurrentHashMap<>();

        @Override
        public void kvEvents(String workerId, List<KvEvent> events) {
        }

        @Override
        public void load(String workerId, EngineStats load) {
        }

        @Override
        public void traffic(String workerId, TrafficCounters t) {
            traffic.put(workerId, t);
        }

        @Override
        public void held(String sourceId, int heldRequests) {
            held.put(sourceId, heldRequests);
        }
    }

    @Test
    void trafficCountsSurviveTheCodec() {
        assertThat(RuntimeCodec.fromProto(RuntimeCodec.toProto(sample()))).isEqualTo(sample());
        // From a worker that predates busy time: the fields are absent, read as 0, not reported.
        var old = RuntimeCodec.toProto(sample()).toBuilder().clearBusySeconds().clearPromptStepSeconds().clearPromptTokensComputed()
                .clearMaxPromptTokens().build();
        TrafficCounters t = RuntimeCodec.fromProto(old);
        assertThat(t.reportsBusyTime()).isFalse();
        assertThat(t.maxPromptTokens()).isZero();
        assertThat(t.requests()).isEqualTo(12);
    }

    @Test
    void inProcessDeliversTrafficAndHeldCounts() {
        try (InProcessEventPlane plane = new InProcessEventPlane()) {
            Collected c = new Collected();
            plane.subscribe("m", c);
            plane.publisher("m", "w1").publishTraffic(sample());
            plane.publisher("m", "frontend-1").publishHeld(4);
            assertThat(c.traffic).containsEntry("w1", sample());
            assertThat(c.held).containsEntry("frontend-1", 4);
        }
    }

    @Test
    void natsDeliversTrafficAndHeldCounts(@TempDir Path dir) throws Exception {
        var bin = LocalNats.find();
        Assumptions.assumeTrue(bin.isPresent(), "nats-server is not installed: apt-get install nats-server (tests that need NATS are skipped)");
        try (LocalNats nats = new LocalNats(bin.get(), dir.resolve("nats"), "tok")) {
            nats.start();
            PlaneUrl url = PlaneUrl.parse(nats.url(), "--events", "nats", "tls");
            try (NatsEventPlane worker = new NatsEventPlane(url, "t", "w"); NatsEventPlane planner = new NatsEventPlane(url, "t", "p")) {
                Collected c = new Collected();
                planner.subscribe("m", c);
                planner.flush(Duration.ofSeconds(10));
                WorkerEventPublisher w = worker.publisher("m", "w1");
                w.publishTraffic(sample());
                WorkerEventPublisher f = worker.publisher("m", "frontend-1");
                f.publishHeld(0);
                f.publishHeld(2);
                NatsEventPlaneTest.await(() -> c.traffic.containsKey("w1") && Integer.valueOf(2).equals(c.held.get("frontend-1")));
                assertThat(c.traffic.get("w1")).isEqualTo(sample());
                w.close();
                f.close();
            }
        }
    }
}
