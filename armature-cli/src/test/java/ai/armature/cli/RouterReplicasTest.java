package ai.armature.cli;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.Usage;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.events.EventPlane;
import ai.armature.runtime.events.InProcessEventPlane;
import ai.armature.runtime.events.NatsEventPlane;
import ai.armature.runtime.local.LocalNats;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two routers of one model, as two frontends run them, share their load bookkeeping over the event plane: in
 * memory, and on a real nats-server (skipped without the binary). A request one routes counts on the other, so the
 * other does not send its next request to the same "idle" worker; a replica that leaves stops counting.
 */
class RouterReplicasTest {

    @TempDir
    Path dir;

    /** A worker whose requests stay in flight until their stream is closed. */
    private static final class HeldWorker implements GenerationEngine {
        final List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public GenerationStream submit(GenerateRequest r) {
            got.add(r.requestId());
            return new GenerationStream() {
                public String requestId() {
                    return r.requestId();
                }

                public GenerateOutput next() {
                    return new GenerateOutput(r.requestId(), new int[0], null, FinishReason.STOP, new Usage(0, 0, 0), null);
                }

                public void close() {
                }
            };
        }

        public void cancel(String id) {
        }

        public EngineStats stats() {
            return new EngineStats(0, 0, 100, 0, 0, 0, 0);
        }

        public int maxContextTokens() {
            return 100_000;
        }

        public void close() {
        }
    }

    @Test
    void replicasShareLoadInMemory() throws Exception {
        try (InProcessEventPlane plane = new InProcessEventPlane()) {
            check(plane, plane);
        }
    }

    @Test
    void replicasShareLoadOverNats() throws Exception {
        var bin = LocalNats.find();
        Assumptions.assumeTrue(bin.isPresent(), "nats-server is not installed: apt-get install nats-server (tests that need NATS are skipped)");
        try (LocalNats nats = new LocalNats(bin.get(), dir.resolve("nats"), "tok")) {
            nats.start();
            PlaneUrl url = PlaneUrl.parse(nats.url(), "--events", "nats", "tls");
            try (NatsEventPlane a = new NatsEventPlane(url, "test", "frontend-a"); NatsEventPlane b = new NatsEventPlane(url, "test", "frontend-b")) {
                check(a, b);
            }
        }
    }

    private void check(EventPlane planeA, EventPlane planeB) throws Exception {
        Map<String, HeldWorker> workers = new ConcurrentHashMap<>();
        Router a = router("frontend-a", planeA, workers), b = router("frontend-b", planeB, workers);
        int[] prompt = new int[4096];
        for (int i = 0; i < prompt.length; i++) prompt[i] = i;
        GenerationStream x = a.submit(request("x", prompt));
        String first = owner(workers, "x");
        await(() -> b.loadOf(first)[0] == 1, "b counts a's request");
        assertThat(b.loadOf(first)).containsExactly(1, 4096, 4096);
        b.submit(request("y", prompt));
        assertThat(owner(workers, "y")).as("b avoids the worker a just loaded").isNotEqualTo(first);
        x.close();
        await(() -> b.loadOf(first)[0] == 0, "a's request ended");
        a.submit(request("z", prompt));
        await(() -> b.routerStats().trackedRequests() == 2, "b tracks y and z");
        a.close();
        await(() -> b.routerStats().trackedRequests() == 1, "a left: its request no longer counts");
        b.close();
    }

    private static Router router(String id, EventPlane plane, Map<String, HeldWorker> workers) {
        Router r = new Router(RouterConfig.defaults().withRouterId(id).withSeed(3), new EventPlaneLoadBus(plane, "m"), System::nanoTime);
        for (String w : List.of("w0", "w1", "w2")) {
            HeldWorker engine = workers.computeIfAbsent(w, k -> new HeldWorker());
            r.addWorker(new WorkerEndpoint(w, 16, "m", true, engine));
        }
        return r;
    }

    private static String owner(Map<String, HeldWorker> workers, String request) {
        return workers.entrySet().stream().filter(e -> e.getValue().got.contains(request)).map(Map.Entry::getKey).findFirst().orElseThrow();
    }

    private static GenerateRequest request(String id, int[] prompt) {
        return new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(8));
    }

    /** Waits (bounded) for a condition the other replica reaches when the bus delivers. */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(5);
        }
    }
}
