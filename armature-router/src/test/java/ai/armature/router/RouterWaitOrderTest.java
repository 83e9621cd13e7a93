package ai.armature.router;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.router.load.LoadBus;

/**
 * The order requests waiting at the router go out in ({@link RouterConfig#lifoAfter}): oldest first while the oldest
 * has waited less than the bound, newest first once it has waited that long, oldest first again once the backlog is
 * gone; the wait timeout still ends the oldest, a cancel still takes one out, and nothing stays booked. One worker
 * that is busy while a request's prompt is queued on it, so each first token lets exactly one waiting request out;
 * the clock is virtual.
 */
class RouterWaitOrderTest {

    private static final long MS = 1_000_000L;
    private final AtomicLong now = new AtomicLong();
    private final FakeWorker worker = new FakeWorker("a");

    private Router router(Duration lifoAfter) {
        Router r = new Router(RouterConfig.defaults().withRouterId("r").withSeed(3).withBusyPrefillTokens(10).withMaxWaiting(100)
                .withWaitTimeout(Duration.ofSeconds(60)).withLifoAfter(lifoAfter), LoadBus.NONE, now::get);
        r.addWorker(new WorkerEndpoint("a", 4, "m", true, worker));
        return r;
    }

    private static GenerateRequest request(String id, int seed) {
        int[] p = new int[20];
        for (int i = 0; i < p.length; i++) p[i] = seed * 100 + i;
        return new GenerateRequest(id, p, SamplingParams.GREEDY, StopConditions.maxTokens(4));
    }

    private GenerationStream submitAt(Router r, long atMs, String id, int seed) {
        now.set(atMs * MS);
        return r.submit(request(id, seed));
    }

    /** At {@code atMs} the request the worker prefills now emits its first token: the router lets one waiting request out. */
    private String firstTokenAt(long atMs, GenerationStream s) throws InterruptedException {
        now.set(atMs * MS);
        String id = worker.submitted.getLast();
        int before = worker.submitted.size();
        worker.emit(id, 1, null, 20, 0);
        assertThat(s.next().tokenIds()).hasSize(1);
        assertThat(worker.submitted.size()).as("one waiting request goes out").isLessThanOrEqualTo(before + 1);
        return worker.submitted.size() > before ? worker.submitted.getLast() : null;
    }

    @Test
    void aBacklogYoungerThanTheBoundGoesOutOldestFirst() throws Exception {
        Router r = router(Duration.ofSeconds(1));
        List<GenerationStream> s = new ArrayList<>();
        s.add(submitAt(r, 0, "x1", 1));
        s.add(submitAt(r, 100, "x2", 2));
        s.add(submitAt(r, 200, "x3", 3));
        s.add(submitAt(r, 300, "x4", 4));
        assertThat(worker.submitted).containsExactly("x1");
        assertThat(r.routerStats().waitingRequests()).isEqualTo(3);
        // x2, the oldest, has waited 0.5 s then 0.7 s (x3) of the 1 s: arrival order.
        assertThat(firstTokenAt(600, s.get(0))).isEqualTo("x2");
        assertThat(firstTokenAt(900, s.get(1))).isEqualTo("x3");
        assertThat(firstTokenAt(1200, s.get(2))).isEqualTo("x4");
        assertThat(r.routerStats().releasedNewestFirst()).isZero();
        finishAll(r, s);
    }

    @Test
    void onceTheOldestHasWaitedTheBoundTheNewestGoFirstUntilTheBacklogIsGone() throws Exception {
        Router r = router(Duration.ofSeconds(1));
        List<GenerationStream> s = new ArrayList<>();
        s.add(submitAt(r, 0, "x1", 1));
        s.add(submitAt(r, 0, "x2", 2));
        s.add(submitAt(r, 100, "x3", 3));
        s.add(submitAt(r, 200, "x4", 4));
        s.add(submitAt(r, 300, "x5", 5));
        // x2 has waited 1.5 s >= 1 s: the newest goes, then the newest of those left; a new arrival joins the back and
        // goes before the older ones.
        assertThat(firstTokenAt(1500, s.get(0))).isEqualTo("x5");
        assertThat(firstTokenAt(1600, s.get(4))).isEqualTo("x4");
        s.add(submitAt(r, 1700, "x6", 6));
        assertThat(worker.submitted).doesNotContain("x6");
        assertThat(firstTokenAt(1800, s.get(3))).isEqualTo("x6");
        assertThat(r.routerStats().releasedNewestFirst()).isEqualTo(3);
        assertThat(scraped(r, "armature_router_released_newest_first")).isEqualTo(3.0);
        assertThat(r.routerStats().waitingRequests()).isEqualTo(2);

        // The backlog's oldest are served late, not dropped: with no newer request waiting, x3's turn comes (newest of
        // those left), then x2's (the last one, alone in the queue, is the newest and the oldest at once).
        assertThat(firstTokenAt(1900, s.get(5))).isEqualTo("x3");
        assertThat(firstTokenAt(2000, s.get(2))).isEqualTo("x2");
        assertThat(r.routerStats().waitingRequests()).isZero();

        // The queue emptied: a new backlog goes out oldest first while its oldest is younger than the bound.
        s.add(submitAt(r, 2100, "y1", 7));
        s.add(submitAt(r, 2200, "y2", 8));
        assertThat(firstTokenAt(2300, s.get(1))).isEqualTo("y1");
        assertThat(firstTokenAt(2400, s.get(6))).isEqualTo("y2");
        assertThat(r.routerStats().releasedNewestFirst()).isEqualTo(5);
        finishAll(r, s);
    }

    @Test
    void theWaitTimeoutStillEndsTheOldestAndACancelTakesAWaitingRequestOut() throws Exception {
        Router r = router(Duration.ofSeconds(1));
        List<GenerationStream> s = new ArrayList<>();
        s.add(submitAt(r, 0, "x1", 1));
        GenerationStream x2 = submitAt(r, 0, "x2", 2);
        GenerationStream x3 = submitAt(r, 10_000, "x3", 3);
        GenerationStream x4 = submitAt(r, 20_000, "x4", 4);
        GenerationStream x5 = submitAt(r, 30_000, "x5", 5);
        r.cancel("x4");
        GenerateOutput cancelled = x4.next();
        assertThat(cancelled.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(x4.next()).isNull();
        assertThat(r.routerStats().waitingRequests()).isEqualTo(3);

        // At 60 s x2, the oldest, times out; x3 (50 s) and x5 (30 s) still wait.
        now.set(60_000 * MS);
        r.tick();
        GenerateOutput timedOut = x2.next();
        assertThat(timedOut.finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(timedOut.error()).contains("--router-wait-timeout");
        assertThat(r.routerStats().waitTimeouts()).isEqualTo(1);
        assertThat(r.routerStats().waitingRequests()).isEqualTo(2);

        // x3 has waited 50 s: the newest, x5, goes first; x3 follows if it has not timed out by then.
        assertThat(firstTokenAt(61_000, s.get(0))).isEqualTo("x5");
        s.add(x5);
        now.set(70_000 * MS);
        r.tick();
        assertThat(x3.next().finishReason()).as("x3 timed out at 70 s, 60 s after it came").isEqualTo(FinishReason.ERROR);
        assertThat(r.routerStats().waitTimeouts()).isEqualTo(2);
        assertThat(r.routerStats().waitingRequests()).isZero();
        assertThat(worker.submitted).containsExactly("x1", "x5");
        finishAll(r, s);
    }

    @Test
    void aZeroBoundIsAlwaysOldestFirst() throws Exception {
        Router r = router(Duration.ZERO);
        List<GenerationStream> s = new ArrayList<>();
        s.add(submitAt(r, 0, "x1", 1));
        s.add(submitAt(r, 0, "x2", 2));
        s.add(submitAt(r, 100, "x3", 3));
        assertThat(firstTokenAt(30_000, s.get(0))).isEqualTo("x2");
        assertThat(firstTokenAt(30_100, s.get(1))).isEqualTo("x3");
        assertThat(r.routerStats().releasedNewestFirst()).isZero();
        finishAll(r, s);
    }

    /** Ends every request the worker got (streams in {@code s}, in any order) and checks nothing stays booked. */
    private void finishAll(Router r, List<GenerationStream> s) throws InterruptedException {
        assertThat(r.routerStats().waitingRequests()).isZero();
        for (GenerationStream g : s) {
            worker.emit(g.requestId(), 1, FinishReason.LENGTH, 20, 0);
            GenerateOutput o = g.next();
            while (!o.finished()) o = g.next();
        }
        assertThat(r.routerStats().trackedRequests()).isZero();
        assertThat(r.loadOf("a")).containsExactly(0, 0, 0);
    }

    /** The value a scrape of the router's metrics gives for {@code name} (model "m"). */
    private static double scraped(Router r, String name) {
        io.prometheus.metrics.model.registry.PrometheusRegistry registry = new io.prometheus.metrics.model.registry.PrometheusRegistry();
        RouterMetrics.of("m", r).register(registry);
        for (io.prometheus.metrics.model.snapshots.MetricSnapshot m : registry.scrape()) {
            if (!m.getMetadata().getName().equals(name)) continue;
            return ((io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot) m.getDataPoints().getFirst()).getValue();
        }
        throw new AssertionError("no metric " + name);
    }
}
