package ai.armature.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.router.load.LoadBus;

/** The router on small hand-built scenarios with fake workers. */
class RouterTest {

    private static final String MODEL = "m";
    private static final int BLOCK = 4;
    private static final BlockHasher HASHER = new BlockHasher(MODEL);

    private final AtomicLong now = new AtomicLong();

    private Router router(String policy) {
        return router(policy, LoadBus.NONE, "r1");
    }

    private Router router(String policy, LoadBus bus, String id) {
        return new Router(RouterConfig.defaults().withPolicy(policy).withRouterId(id).withSeed(7), bus, now::get);
    }

    private static Map<String, FakeWorker> add(Router r, String... ids) {
        Map<String, FakeWorker> out = new HashMap<>();
        for (String id : ids) {
            FakeWorker w = new FakeWorker(id);
            r.addWorker(new WorkerEndpoint(id, BLOCK, MODEL, true, w));
            out.put(id, w);
        }
        return out;
    }

    private static int[] prompt(int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = seed * 100 + i;
        return t;
    }

    private static GenerateRequest request(String id, int[] prompt) {
        return new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(4));
    }

    /** The events a worker publishes when it caches the full blocks of {@code tokens}, ids from {@code firstId}. */
    private static List<KvEvent> stored(int[] tokens, long firstId) {
        long[] h = HASHER.hashFullBlocks(null, tokens, tokens.length, BLOCK);
        List<KvEvent> out = new ArrayList<>();
        for (int i = 0; i < h.length; i++) {
            out.add(new KvEvent.BlockStored(firstId + i, h[i], i == 0 ? HASHER.rootHash(null) : h[i - 1], BLOCK,
                    java.util.Arrays.copyOfRange(tokens, i * BLOCK, (i + 1) * BLOCK)));
        }
        return out;
    }

    private static String ownerOf(Map<String, FakeWorker> ws, String requestId) {
        for (FakeWorker w : ws.values()) if (w.submitted.contains(requestId)) return w.id;
        return null;
    }

    /** A snapshot as of event {@code lastEventId} holding {@code hashes} in device memory. */
    static ai.armature.protocol.kv.KvCacheSnapshot snapshot(long lastEventId, long... hashes) {
        java.util.Set<Long> set = new java.util.HashSet<>();
        for (long h : hashes) set.add(h);
        return new ai.armature.protocol.kv.KvCacheSnapshot(lastEventId,
                java.util.Map.of(ai.armature.protocol.kv.KvTier.DEVICE, set));
    }

    @Test
    void leastLoadedSpreadsRequestsAndRoutesCancelsToTheOwner() {
        Router r = router("least-loaded");
        Map<String, FakeWorker> ws = add(r, "a", "b");
        r.submit(request("x", prompt(8, 1)));
        r.submit(request("y", prompt(8, 1)));
        assertThat(ownerOf(ws, "x")).isNotNull().isNotEqualTo(ownerOf(ws, "y"));
        r.cancel("x");
        assertThat(ws.get(ownerOf(ws, "x")).cancelled).containsExactly("x");
        ws.get("a").running = 2;
        ws.get("b").running = 3;
        assertThat(r.stats().runningRequests()).isEqualTo(5);
        assertThat(r.routerStats().decisions()).isEqualTo(2);
    }

    @Test
    void aDeadOrFullWorkerIsSkippedAndWithNoneLeftTheRequestIsRefused() {
        Router r = router("least-loaded");
        Map<String, FakeWorker> ws = add(r, "a", "b", "c");
        ws.get("a").dead = true;
        ws.get("b").full = true;
        for (int i = 0; i < 4; i++) r.submit(request("q" + i, prompt(8, i)));
        assertThat(ws.get("c").submitted).hasSize(4);
        assertThat(r.loadOf("b")[0]).as("a refused request books nothing").isZero();
        assertThat(r.healthy()).isTrue();
        ws.get("c").dead = true;
        assertThatThrownBy(() -> r.submit(request("z", prompt(8, 9)))).isInstanceOf(RequestRejectedException.class)
                .hasMessageContaining("full");
        ws.get("b").dead = true;
        assertThat(r.healthy()).as("/health turns 503 when no worker can take requests").isFalse();
        Router empty = router("kv");
        assertThatThrownBy(() -> empty.submit(request("z", prompt(8, 9)))).isInstanceOf(RequestRejectedException.class)
                .hasMessageContaining("no worker is available")
                .extracting(e -> ((RequestRejectedException) e).reason()).isEqualTo(RequestRejectedException.Reason.SHUTTING_DOWN);
    }

    @Test
    void aResumedRequestAvoidsTheWorkersThatFailedIt() {
        Router r = router("kv");
        Map<String, FakeWorker> ws = add(r, "a", "b");
        int[] system = prompt(16, 19);
        r.onKvEvents("a", stored(system, 1));
        int[] p = java.util.Arrays.copyOf(system, 22);
        r.submit(new GenerateRequest("x", p, SamplingParams.GREEDY, StopConditions.maxTokens(4), 0, null,
                new ai.armature.protocol.Migration(2, 1, java.util.Set.of("a"))));
        assertThat(ws.get("b").submitted).containsExactly("x");
    }

    @Test
    void kvSendsARequestToTheWorkerHoldingItsPrefix() {
        Router r = router("kv");
        Map<String, FakeWorker> ws = add(r, "a", "b", "c");
        int[] system = prompt(16, 3);
        r.onKvEvents("b", stored(system, 1));
        int[] p = java.util.Arrays.copyOf(system, 22);
        r.submit(request("x", p));
        assertThat(ws.get("b").submitted).containsExactly("x");
        RouterStats s = r.routerStats();
        assertThat(s.predictedHitTokens()).isEqualTo(16);
        assertThat(s.routedPromptTokens()).isEqualTo(22);
        assertThat(s.indexedEntries()).isEqualTo(4);
        // The prompt's 5th full block counts as b's until b's events store it.
        assertThat(r.pendingBlocks("b")).isEqualTo(1);
    }

    @Test
    void aNewPrefixCountsAsHeldByItsWorkerUntilItsEventsArriveOrItsRequestsEnd() throws Exception {
        Router r = router("kv");
        Map<String, FakeWorker> ws = add(r, "a", "b", "c");
        int[] doc = prompt(32, 20); // 8 full blocks nobody holds
        GenerationStream s1 = r.submit(request("x1", java.util.Arrays.copyOf(doc, 35)));
        String first = ownerOf(ws, "x1");
        // Before any KV event: the second and third requests with that prefix follow the first (without the pending
        // blocks they would look uncached everywhere and go to the idle workers).
        int[] other = java.util.Arrays.copyOf(doc, 38);
        other[36] = 9_999;
        GenerationStream s2 = r.submit(request("x2", other));
        GenerationStream s3 = r.submit(request("x3", java.util.Arrays.copyOf(doc, 33)));
        assertThat(ownerOf(ws, "x2")).isEqualTo(first);
        assertThat(ownerOf(ws, "x3")).isEqualTo(first);
        // Counted once per worker, however many requests wait on a block: 8 blocks, and x2's 9th.
        assertThat(r.pendingBlocks(first)).isEqualTo(9);
        assertThat(r.routerStats().indexedEntries()).isZero();

        // The worker's events store the 8 blocks: they move to the index, never counted twice, and stay when the
        // requests end.
        r.onKvEvents(first, stored(doc, 1));
        assertThat(r.pendingBlocks(first)).isEqualTo(1);
        assertThat(r.routerStats().indexedEntries()).isEqualTo(8);
        ws.get(first).emit("x1", 1, FinishReason.LENGTH, 35, 0);
        s1.next();
        s3.close();
        assertThat(r.pendingBlocks(first)).as("x2's 9th block").isEqualTo(1);
        ws.get(first).fail("x2", new IllegalStateException("connection reset"));
        assertThatThrownBy(s2::next).hasMessageContaining("connection reset");
        assertThat(r.pendingBlocks(first)).isZero();
        assertThat(r.routerStats().indexedEntries()).isEqualTo(8);

        // A prefix whose events never come: it stays pending while any request with it runs (the second one counts
        // it too, though the first made it pending), and goes when the last one ends.
        int[] doc2 = prompt(16, 21);
        GenerationStream t1 = r.submit(request("y1", java.util.Arrays.copyOf(doc2, 17)));
        String owner2 = ownerOf(ws, "y1");
        GenerationStream t2 = r.submit(request("y2", java.util.Arrays.copyOf(doc2, 18)));
        assertThat(ownerOf(ws, "y2")).isEqualTo(owner2);
        assertThat(r.pendingBlocks(owner2)).isEqualTo(4);
        t1.close();
        assertThat(r.pendingBlocks(owner2)).isEqualTo(4);
        GenerationStream t3 = r.submit(request("y3", java.util.Arrays.copyOf(doc2, 19)));
        assertThat(ownerOf(ws, "y3")).isEqualTo(owner2);
        t2.close();
        t3.close();
        assertThat(r.pendingBlocks(owner2)).isZero();

        // A request whose end the router never sees (a route() nobody submits) expires with the approximate-mode TTL.
        r.route(request("z", java.util.Arrays.copyOf(doc2, 17)), w -> true, java.util.Set.of());
        String owner3 = ws.keySet().stream().filter(id -> r.pendingBlocks(id) > 0).findFirst().orElseThrow();
        now.addAndGet(Duration.ofSeconds(119).toNanos());
        r.tick();
        assertThat(r.pendingBlocks(owner3)).isEqualTo(4);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        r.tick();
        assertThat(r.pendingBlocks(owner3)).isZero();
        // A worker that leaves takes its pending blocks with it; one that joins again under its id starts with none.
        r.submit(request("v", prompt(16, 22)));
        String owner4 = ws.keySet().stream().filter(id -> r.pendingBlocks(id) > 0).findFirst().orElseThrow();
        r.removeWorker(owner4);
        r.addWorker(new WorkerEndpoint(owner4, BLOCK, MODEL, true, new FakeWorker(owner4)));
        assertThat(r.pendingBlocks(owner4)).isZero();
    }

    @Test
    void kvSpreadsAHotPrefixOnceItsWorkerIsLoaded() {
        Router r = router("kv");
        Map<String, FakeWorker> ws = add(r, "a", "b");
        int[] system = prompt(16, 4);
        r.onKvEvents("a", stored(system, 1));
        int[] p = java.util.Arrays.copyOf(system, 20);
        // With the default weights (prefill 128, queue 32): on a 128 * 4 uncached tokens, on b 128 * 20 = 2560. Each
        // request on a adds 4 queued prefill and 20 context tokens: 512 + (32 * 4 + 20) k = 512 + 148 k, so after 14
        // (512 + 148 * 13 = 2436) the 15th (2584) is cheaper on b.
        for (int i = 0; i < 15; i++) r.submit(request("q" + i, p));
        assertThat(ws.get("a").submitted).hasSize(14).containsExactly(java.util.stream.IntStream.range(0, 14).mapToObj(i -> "q" + i).toArray(String[]::new));
        assertThat(ws.get("b").submitted).containsExactly("q14");
    }

    @Test
    void loadIsBookedWhenRoutedReleasedAtFirstTokenAndAtTheEnd() throws Exception {
        Router r = router("kv");
        Map<String, FakeWorker> ws = add(r, "a");
        int[] system = prompt(16, 5);
        r.onKvEvents("a", stored(system, 1));
        GenerationStream s = r.submit(request("x", java.util.Arrays.copyOf(system, 30)));
        assertThat(r.loadOf("a")).containsExactly(1, 14, 30);
        ws.get("a").emit("x", 1, null, 30, 16);
        s.next();
        assertThat(r.loadOf("a")).containsExactly(1, 0, 30);
        ws.get("a").emit("x", 3, FinishReason.LENGTH, 30, 16);
        GenerateOutput last = s.next();
        assertThat(last.finished()).isTrue();
        assertThat(r.loadOf("a")).containsExactly(0, 0, 0);
        assertThat(r.routerStats().reportedHitTokens()).isEqualTo(16);
        assertThat(r.routerStats().reportedPromptTokens()).isEqualTo(30);

        // A stream closed early, or one whose worker is lost, releases its load too.
        GenerationStream closed = r.submit(request("y", prompt(9, 6)));
        assertThat(r.loadOf("a")[0]).isEqualTo(1);
        closed.close();
        assertThat(r.loadOf("a")[0]).isZero();
        GenerationStream lost = r.submit(request("z", prompt(9, 7)));
        ws.get("a").fail("z", new IllegalStateException("connection reset"));
        assertThatThrownBy(lost::next).hasMessageContaining("connection reset");
        assertThat(r.loadOf("a")).containsExactly(0, 0, 0);
        assertThat(r.routerStats().trackedRequests()).isZero();
    }

    @Test
    void aLoadReportAddsOnlyTheLoadTheRouterDidNotBook() {
        Router r = router("kv");
        add(r, "a", "b");
        r.submit(request("x", prompt(40, 8)));
        String owner = r.loadOf("a")[0] == 1 ? "a" : "b";
        String other = owner.equals("a") ? "b" : "a";
        // The owner reports the request (counted already) as pending prefill; the other has 500 tokens from elsewhere.
        r.onLoad(owner, new EngineStats(1, 0, 100, 0, 0, 0, 0, 40, 0));
        r.onLoad(other, new EngineStats(2, 0, 100, 0, 0, 0, 0, 500, 0));
        assertThat(r.loadOf(owner)).containsExactly(1, 40, 40);
        assertThat(r.loadOf(other)).containsExactly(2, 500, 0);
        // The next request avoids the worker with hidden load.
        r.submit(request("y", prompt(40, 9)));
        assertThat(r.loadOf(owner)[0]).isEqualTo(2);
    }

    @Test
    void aGapFetchesASnapshotAndRebuildsTheWorkersEntries() {
        Router r = router("kv");
        FakeWorker w = new FakeWorker("a");
        int[] p1 = prompt(8, 10), p2 = prompt(8, 11);
        long[] h1 = HASHER.hashFullBlocks(null, p1, 8, BLOCK), h2 = HASHER.hashFullBlocks(null, p2, 8, BLOCK);
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<ai.armature.protocol.kv.KvCacheSnapshot> answer = new CompletableFuture<>();
        r.addWorker(new WorkerEndpoint("a", BLOCK, MODEL, true, WorkerRole.AGGREGATED, w, () -> {
            calls.incrementAndGet();
            return answer;
        }));
        r.onKvEvents("a", stored(p1, 1));
        // Events 3 and 4 (p2) are lost; the worker then evicts p1's second block (event 5).
        r.onKvEvent("a", new KvEvent.BlockRemoved(5, h1[1]));
        assertThat(calls).hasValue(1);
        assertThat(r.resyncing("a")).isTrue();
        r.onKvEvent("a", new KvEvent.BlockRemoved(6, h1[0]));
        assertThat(calls).as("one snapshot in flight at a time").hasValue(1);
        // The snapshot reflects events up to 5: p1's first block and p2.
        answer.complete(snapshot(5, h1[0], h2[0], h2[1]));
        assertThat(r.resyncing("a")).isFalse();
        long[] want = {h2[0], h2[1]};
        java.util.Arrays.sort(want);
        assertThat(r.indexedHashes("a")).isEqualTo(want);
        assertThat(r.routerStats().kvEventGaps()).isEqualTo(1);
        assertThat(r.routerStats().kvSnapshots()).isEqualTo(1);
    }

    @Test
    void eventsLostAtTheTailOfTheStreamShowInTheNextLoadReports() {
        Router r = router("kv");
        AtomicInteger calls = new AtomicInteger();
        int[] p1 = prompt(8, 20);
        long[] h1 = HASHER.hashFullBlocks(null, p1, 8, BLOCK);
        r.addWorker(new WorkerEndpoint("a", BLOCK, MODEL, true, WorkerRole.AGGREGATED, new FakeWorker("a"), () -> {
            calls.incrementAndGet();
            return CompletableFuture.completedFuture(snapshot(3, h1[0]));
        }));
        r.onKvEvents("a", stored(p1, 1));
        // Event 3 (p1's second block evicted) is lost and nothing follows it. A report naming event 3 may simply be
        // ahead of the event; the next one still naming an id that never arrived means it was lost.
        EngineStats report = new EngineStats(0, 0, 100, 0, 1, 0, 0, 0, 3);
        r.onLoad("a", report);
        assertThat(calls).hasValue(0);
        r.onLoad("a", report);
        assertThat(calls).hasValue(1);
        assertThat(r.indexedHashes("a")).containsExactly(h1[0]);
        assertThat(r.routerStats().kvEventGaps()).isEqualTo(1);
        // In step again: further reports change nothing.
        r.onLoad("a", report);
        r.onLoad("a", report);
        assertThat(calls).hasValue(1);
    }

    @Test
    void aFailedSnapshotIsRetriedOnTheNextTick() {
        Router r = router("kv");
        AtomicInteger calls = new AtomicInteger();
        r.addWorker(new WorkerEndpoint("a", BLOCK, MODEL, true, WorkerRole.AGGREGATED, new FakeWorker("a"), () -> {
            if (calls.incrementAndGet() == 1) return CompletableFuture.failedFuture(new IllegalStateException("worker busy"));
            return CompletableFuture.completedFuture(snapshot(9, 42));
        }));
        r.onKvEvent("a", new KvEvent.AllBlocksCleared(7));
        assertThat(r.resyncing("a")).isTrue();
        r.tick();
        assertThat(calls).hasValue(2);
        assertThat(r.resyncing("a")).isFalse();
        assertThat(r.indexedHashes("a")).containsExactly(42);
    }

    @Test
    void replicasAgreeOnTheIndexAndCountEachOthersLoad() {
        LoadBus bus = LoadBus.inProcess();
        Router r1 = router("kv", bus, "r1"), r2 = router("kv", bus, "r2");
        Map<String, FakeWorker> w1 = add(r1, "a", "b");
        Map<String, FakeWorker> w2 = add(r2, "a", "b");
        // The same events reach both, interleaved differently across workers.
        List<KvEvent> ea = stored(prompt(24, 12), 1), eb = stored(prompt(12, 13), 1);
        r1.onKvEvents("a", ea);
        r1.onKvEvents("b", eb);
        r2.onKvEvents("b", eb);
        r2.onKvEvents("a", ea.subList(0, 3));
        r2.onKvEvents("a", ea);
        for (String w : List.of("a", "b")) assertThat(r1.indexedHashes(w)).isEqualTo(r2.indexedHashes(w));
        assertThat(r1.routerStats().indexedEntries()).isEqualTo(r2.routerStats().indexedEntries());

        // r1 routes a long prompt to an idle worker; r2 sees that load and sends the next one elsewhere.
        int[] p = prompt(64, 14);
        GenerationStream s = r1.submit(request("x", p));
        String first = ownerOf(w1, "x");
        assertThat(r2.loadOf(first)).containsExactly(1, 64, 64);
        r2.submit(request("y", prompt(64, 15)));
        assertThat(ownerOf(w2, "y")).isNotEqualTo(first);
        s.close();
        assertThat(r2.loadOf(first)).containsExactly(0, 0, 0);

        // A replica that leaves stops counting at once; one that goes silent, after the peer TTL.
        r1.submit(request("z", p));
        assertThat(r2.routerStats().trackedRequests()).isEqualTo(2);
        r1.close();
        assertThat(r2.routerStats().trackedRequests()).isEqualTo(1);
        Router r3 = router("kv", bus, "r3");
        add(r3, "a", "b");
        r3.submit(request("w", p));
        assertThat(r2.routerStats().trackedRequests()).isEqualTo(2);
        now.addAndGet(Duration.ofSeconds(6).toNanos());
        r2.tick();
        assertThat(r2.routerStats().trackedRequests()).as("r3 went silent for longer than the peer TTL").isEqualTo(1);
    }

    @Test
    void anApproximateWorkerAttractsRepeatsOfWhatItWasSent() {
        Router r = router("kv");
        FakeWorker a = new FakeWorker("a"), b = new FakeWorker("b");
        r.addWorker(new WorkerEndpoint("a", BLOCK, MODEL, false, a));
        r.addWorker(new WorkerEndpoint("b", BLOCK, MODEL, false, b));
        int[] p = prompt(40, 16);
        GenerationStream s = r.submit(request("x", p));
        FakeWorker first = a.submitted.isEmpty() ? b : a;
        first.emit("x", 1, FinishReason.LENGTH, 40, 0);
        s.close();
        r.submit(request("y", p));
        assertThat(first.submitted).containsExactly("x", "y");
        // After the TTL the router no longer believes it.
        now.addAndGet(Duration.ofSeconds(121).toNanos());
        r.tick();
        assertThat(r.routerStats().indexedEntries()).isZero();
    }

    @Test
    void roundRobinCyclesAndRandomIsReproducibleWithItsSeed() {
        Router rr = router("round-robin");
        Map<String, FakeWorker> ws = add(rr, "a", "b", "c");
        for (int i = 0; i < 6; i++) rr.submit(request("q" + i, prompt(8, 1)));
        for (FakeWorker w : ws.values()) assertThat(w.submitted).hasSize(2);
        List<String> order1 = new ArrayList<>(), order2 = new ArrayList<>();
        for (List<String> order : List.of(order1, order2)) {
            Router rnd = router("random");
            Map<String, FakeWorker> w = add(rnd, "a", "b", "c");
            for (int i = 0; i < 20; i++) {
                rnd.submit(request("q" + i, prompt(8, 1)));
                order.add(ownerOf(w, "q" + i));
            }
        }
        assertThat(order1).isEqualTo(order2).containsAll(List.of("a", "b", "c"));
    }

    @Test
    void aTemperatureSamplesAwayFromTheCheapestWorker() {
        Router r = new Router(RouterConfig.defaults().withTemperature(1.0).withSeed(3), LoadBus.NONE, now::get);
        Map<String, FakeWorker> ws = add(r, "a", "b");
        int[] system = prompt(16, 17);
        r.onKvEvents("a", stored(system, 1));
        for (int i = 0; i < 40; i++) r.submit(request("q" + i, java.util.Arrays.copyOf(system, 17))).close();
        assertThat(ws.get("a").submitted.size()).isGreaterThan(ws.get("b").submitted.size());
        assertThat(ws.get("b").submitted).isNotEmpty();
    }

    @Test
    void removingAWorkerPurgesItAndClosingTheRouterClosesTheRest() {
        Router r = router("kv");
        Map<String, FakeWorker> ws = add(r, "a", "b");
        r.onKvEvents("a", stored(prompt(16, 18), 1));
        WorkerEndpoint removed = r.removeWorker("a");
        assertThat(removed.engine()).isSameAs(ws.get("a"));
        assertThat(r.routerStats().indexedEntries()).isZero();
        assertThat(r.removeWorker("a")).isNull();
        r.close();
        assertThat(ws.get("b").closed).isTrue();
        assertThat(ws.get("a").closed).isFalse();
        assertThatThrownBy(() -> r.submit(request("x", prompt(8, 1)))).isInstanceOf(RequestRejectedException.class);
    }
}
