package ai.armature.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.router.load.LoadBus;

/**
 * Requests waiting at the router while every worker is busy ({@link RouterConfig#busyPrefillTokens}): they go out in
 * arrival order as prefills complete or workers join, can be cancelled, closed or time out while they wait, are
 * bounded in number, and leave nothing booked behind.
 */
class RouterWaitingTest {

    private static final int BLOCK = 4;
    private final AtomicLong now = new AtomicLong();

    private Router router(long busyTokens, int maxWaiting) {
        return new Router(RouterConfig.defaults().withRouterId("r").withSeed(3).withBusyPrefillTokens(busyTokens).withMaxWaiting(maxWaiting)
                .withWaitTimeout(Duration.ofSeconds(60)), LoadBus.NONE, now::get);
    }

    private static FakeWorker add(Router r, Map<String, FakeWorker> ws, String id) {
        FakeWorker w = new FakeWorker(id);
        r.addWorker(new WorkerEndpoint(id, BLOCK, "m", true, w));
        ws.put(id, w);
        return w;
    }

    private static GenerateRequest request(String id, int seed) {
        int[] p = new int[20];
        for (int i = 0; i < p.length; i++) p[i] = seed * 100 + i;
        return new GenerateRequest(id, p, SamplingParams.GREEDY, StopConditions.maxTokens(4));
    }

    private static String ownerOf(Map<String, FakeWorker> ws, String requestId) {
        for (FakeWorker w : ws.values()) if (w.submitted.contains(requestId)) return w.id;
        return null;
    }

    @Test
    void requestsWaitWhileEveryWorkerIsBusyAndGoOutInArrivalOrderAsPrefillsComplete() throws Exception {
        Router r = router(10, 100);
        Map<String, FakeWorker> ws = new HashMap<>();
        add(r, ws, "a");
        add(r, ws, "b");
        GenerationStream s1 = r.submit(request("x1", 1));
        GenerationStream s2 = r.submit(request("x2", 2));
        String o1 = ownerOf(ws, "x1"), o2 = ownerOf(ws, "x2");
        assertThat(o1).isNotNull();
        assertThat(o2).isNotNull().isNotEqualTo(o1);
        // Both workers now have 20 prompt tokens to prefill (>= 10): the next two wait at the router.
        GenerationStream s3 = r.submit(request("x3", 3));
        GenerationStream s4 = r.submit(request("x4", 4));
        assertThat(ownerOf(ws, "x3")).isNull();
        assertThat(ownerOf(ws, "x4")).isNull();
        assertThat(r.routerStats().waitingRequests()).isEqualTo(2);
        assertThat(r.routerStats().waitedTotal()).isEqualTo(2);
        assertThat(scraped(r, "armature_router_waiting_requests")).isEqualTo(2.0);
        assertThat(scraped(r, "armature_router_waited")).isEqualTo(2.0);
        // A new arrival queues behind them even if it could go somewhere: arrival order.
        ws.get(o1).emit("x1", 1, null, 20, 0);
        assertThat(s1.next().tokenIds()).hasSize(1);
        assertThat(ownerOf(ws, "x3")).as("the oldest waiting request takes the worker whose prefill finished").isEqualTo(o1);
        assertThat(ownerOf(ws, "x4")).as("the worker is busy again with x3's prefill").isNull();
        ws.get(o2).emit("x2", 1, null, 20, 0);
        s2.next();
        assertThat(ownerOf(ws, "x4")).isEqualTo(o2);
        assertThat(r.routerStats().waitingRequests()).isZero();
        // The waiting streams now read their workers' streams.
        ws.get(o1).emit("x3", 2, null, 20, 0);
        assertThat(s3.next().tokenIds()).hasSize(2);
        for (String id : new String[] {"x1", "x2", "x3", "x4"}) ws.get(ownerOf(ws, id)).emit(id, 1, FinishReason.LENGTH, 20, 0);
        assertThat(s1.next().finished()).isTrue();
        assertThat(s2.next().finished()).isTrue();
        assertThat(s3.next().finished()).isTrue();
        GenerateOutput first4 = s4.next();
        assertThat(first4.finished() ? first4 : s4.next()).matches(GenerateOutput::finished);
        assertThat(r.routerStats().trackedRequests()).isZero();
        assertThat(r.loadOf("a")).containsExactly(0, 0, 0);
        assertThat(r.loadOf("b")).containsExactly(0, 0, 0);
    }

    @Test
    void aWaitingRequestCanBeCancelledClosedOrTimeOutAndTheQueueIsBounded() throws Exception {
        Router r = router(10, 3);
        Map<String, FakeWorker> ws = new HashMap<>();
        FakeWorker a = add(r, ws, "a");
        GenerationStream s1 = r.submit(request("x1", 1));
        GenerationStream s2 = r.submit(request("x2", 2));
        GenerationStream s3 = r.submit(request("x3", 3));
        now.addAndGet(Duration.ofSeconds(30).toNanos());
        GenerationStream s4 = r.submit(request("x4", 4));
        assertThatThrownBy(() -> r.submit(request("x5", 5))).isInstanceOf(RequestRejectedException.class)
                .matches(e -> ((RequestRejectedException) e).reason() == RequestRejectedException.Reason.QUEUE_FULL)
                .hasMessageContaining("--router-max-waiting");

        r.cancel("x2");
        GenerateOutput cancelled = s2.next();
        assertThat(cancelled.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(s2.next()).isNull();
        s3.close();
        assertThat(r.routerStats().waitingRequests()).isEqualTo(1);

        // x4 waited 30 s of the 60: it stays after 31 more, until 60 have passed.
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        r.tick();
        assertThat(r.routerStats().waitingRequests()).isEqualTo(1);
        now.addAndGet(Duration.ofSeconds(30).toNanos());
        r.tick();
        GenerateOutput timedOut = s4.next();
        assertThat(timedOut.finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(timedOut.error()).contains("--router-wait-timeout");
        assertThat(timedOut.errorKind()).as("a retryable 503, not a server error").isEqualTo(GenerateOutput.ErrorKind.UNAVAILABLE);
        assertThat(r.routerStats().waitTimeouts()).isEqualTo(1);
        assertThat(r.routerStats().waitingRequests()).isZero();

        // None of them reached the worker, and when x1's prefill ends nothing is left to send.
        a.emit("x1", 1, null, 20, 0);
        s1.next();
        assertThat(a.submitted).containsExactly("x1");
        a.emit("x1", 1, FinishReason.STOP, 20, 0);
        s1.next();
        assertThat(r.routerStats().trackedRequests()).isZero();
    }

    @Test
    void workersThatJoinTakeTheWaitingRequestsAndClosingEndsTheRest() throws Exception {
        Router r = router(10, 100);
        Map<String, FakeWorker> ws = new HashMap<>();
        add(r, ws, "a");
        r.submit(request("x1", 1));
        GenerationStream s2 = r.submit(request("x2", 2));
        GenerationStream s3 = r.submit(request("x3", 3));
        GenerationStream s4 = r.submit(request("x4", 4));
        assertThat(r.routerStats().waitingRequests()).isEqualTo(3);
        add(r, ws, "b");
        assertThat(ownerOf(ws, "x2")).isEqualTo("b");
        assertThat(ownerOf(ws, "x3")).isNull();
        add(r, ws, "c");
        assertThat(ownerOf(ws, "x3")).isEqualTo("c");
        ws.get("b").emit("x2", 1, null, 20, 0);
        assertThat(s2.next().tokenIds()).hasSize(1);
        assertThat(ownerOf(ws, "x4")).as("b's prefill finished").isEqualTo("b");
        GenerationStream s5 = r.submit(request("x5", 5));
        // A waiting request whose stream is read on another thread is woken when it ends.
        GenerateOutput[] seen = new GenerateOutput[1];
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                seen[0] = s5.next();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        r.close();
        reader.join();
        assertThat(seen[0].finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(seen[0].error()).contains("shut down");
        assertThat(seen[0].errorKind()).isEqualTo(GenerateOutput.ErrorKind.UNAVAILABLE);
        assertThat(s3).isNotNull();
        assertThat(s4).isNotNull();
    }

    /** The value a scrape of the router's metrics gives for {@code name} (model "m"). */
    private static double scraped(Router r, String name) {
        io.prometheus.metrics.model.registry.PrometheusRegistry registry = new io.prometheus.metrics.model.registry.PrometheusRegistry();
        RouterMetrics.of("m", r).register(registry);
        for (io.prometheus.metrics.model.snapshots.MetricSnapshot s : registry.scrape()) {
            if (!s.getMetadata().getName().equals(name)) continue;
            io.prometheus.metrics.model.snapshots.DataPointSnapshot p = s.getDataPoints().getFirst();
            return p instanceof io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot g ? g.getValue()
                    : ((io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot) p).getValue();
        }
        throw new AssertionError("no metric " + name);
    }

    @Test
    void withoutABusyBoundNothingWaits() {
        Router r = router(0, 100);
        Map<String, FakeWorker> ws = new HashMap<>();
        add(r, ws, "a");
        for (int i = 0; i < 5; i++) r.submit(request("x" + i, i));
        assertThat(ws.get("a").submitted).hasSize(5);
        assertThat(r.routerStats().waitedTotal()).isZero();
    }
}
