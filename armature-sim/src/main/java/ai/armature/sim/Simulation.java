package ai.armature.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

import ai.armature.bench.LatencyStats;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.RouterStats;
import ai.armature.router.WorkerRole;
import ai.armature.router.load.LoadBus;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

/**
 * One simulated run: a pool of simulated workers behind the real {@link Router} (one policy), fed by a workload,
 * on one virtual clock. Every second of virtual time the workers report their load to the router and the router
 * runs its maintenance. The run ends when every request has ended; then it checks its invariants (every request
 * completed, every token the requests asked for was generated, every worker is idle with no KV block in use, the
 * router tracks no request and its index equals what every worker caches) and summarises what happened.
 *
 * <p>Deterministic: the same settings, workload and seed give the same result.
 */
public final class Simulation implements SimWorkload.Context {

    /**
     * What a run simulates: the workers, their model and hardware, their scheduler settings, the router, how often
     * workers report their load, and the share of KV events the event plane loses ({@code kvEventLoss}, seeded by
     * {@code seed}: the router must notice and resynchronise).
     */
    public record Settings(int workers, MockProfile profile, ServingConfig serving, RouterConfig router, long tickNanos,
                           double kvEventLoss, long seed) {
        public Settings {
            if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
            if (tickNanos <= 0) throw new IllegalArgumentException("the load report interval must be > 0");
            if (!(kvEventLoss >= 0 && kvEventLoss < 1)) throw new IllegalArgumentException("--kv-event-loss must be in [0, 1), got " + kvEventLoss);
        }

        public Settings withRouter(RouterConfig r) {
            return new Settings(workers, profile, serving, r, tickNanos, kvEventLoss, seed);
        }
    }

    /** A run's result, its TTFT samples (for the CDF), worker load over time, and any invariant that failed. */
    public record Outcome(PolicyResult result, double[] ttftSeconds, LoadTimeline timeline, List<String> violations) {
    }

    /** One request in flight. */
    private static final class Flight {
        final SimRequest request;
        final int expectedTokens;
        GenerationStream stream;
        long firstTokenAt = -1;
        long lastTokenAt;
        int generated;
        int[] reply;

        Flight(SimRequest request, int expectedTokens) {
            this.request = request;
            this.expectedTokens = expectedTokens;
        }
    }

    private final Settings settings;
    private final SimWorkload workload;
    private final EventLoop loop = new EventLoop();
    private final Router router;
    private final WorkerPool pool;
    private final Map<String, Flight> flights = new HashMap<>();
    private final LoadTimeline timeline = new LoadTimeline();
    private final LatencyStats.Builder ttft = new LatencyStats.Builder();
    private final LatencyStats.Builder itl = new LatencyStats.Builder();
    private final LatencyStats.Builder e2e = new LatencyStats.Builder();
    private double[] ttfts = new double[1024];
    private int ttftCount;
    private long pendingArrivals, ended, completed, failed, promptTokens, cachedTokens, outputTokens, expectedTokens;
    private long firstArrival = Long.MAX_VALUE, lastFinish;
    private int drainTicks;
    private static final int DRAIN_TICKS = 3;
    private final List<String> violations = new ArrayList<>();

    public Simulation(Settings settings, SimWorkload workload) {
        this.settings = settings;
        this.workload = workload;
        Logger.getLogger("ai.armature.serving.EngineCore").setLevel(Level.WARNING);
        this.loss = new java.util.SplittableRandom(settings.seed() ^ 0x1055L);
        this.router = new Router(settings.router(), LoadBus.NONE, loop::now);
        this.pool = new WorkerPool(settings.profile(), settings.serving(), loop, router, new SimWorker.Listener() {
            @Override
            public void kvEvents(String workerId, List<KvEvent> events) {
                router.onKvEvents(workerId, settings.kvEventLoss() > 0 ? lose(events) : events);
            }

            @Override
            public void output(String requestId) {
                onOutput(requestId);
            }
        });
        for (int i = 0; i < settings.workers(); i++) pool.add(WorkerRole.AGGREGATED);
    }

    private final java.util.SplittableRandom loss;

    private List<KvEvent> lose(List<KvEvent> events) {
        List<KvEvent> kept = new ArrayList<>(events.size());
        for (KvEvent e : events) if (loss.nextDouble() >= settings.kvEventLoss()) kept.add(e);
        return kept;
    }

    /** The worker pool (a planner adds and removes workers through it). */
    public WorkerPool pool() {
        return pool;
    }

    /** The router under test. */
    public Router router() {
        return router;
    }

    /** The event loop (other components schedule their own actions on it). */
    public EventLoop loop() {
        return loop;
    }

    @Override
    public long now() {
        return loop.now();
    }

    @Override
    public void submit(SimRequest request) {
        pendingArrivals++;
        loop.at(request.arrivalNanos(), () -> arrive(request));
    }

    @Override
    public void at(long timeNanos, Runnable action) {
        loop.at(timeNanos, action);
    }

    /** Runs the workload to its end and returns what happened. */
    public Outcome run() {
        workload.start(this);
        loop.after(settings.tickNanos(), this::tick);
        loop.run();
        check();
        return new Outcome(result(), Arrays.copyOf(ttfts, ttftCount), timeline, List.copyOf(violations));
    }

    private void arrive(SimRequest r) {
        pendingArrivals--;
        firstArrival = Math.min(firstArrival, loop.now());
        Flight f = new Flight(r, expectedTokens(r));
        expectedTokens += f.expectedTokens;
        flights.put(r.id(), f);
        GenerateRequest request = new GenerateRequest(r.id(), r.promptTokens(), SamplingParams.GREEDY,
                new StopConditions(r.maxTokens(), null, true, false));
        try {
            f.stream = router.submit(request);
        } catch (RequestRejectedException e) {
            flights.remove(r.id());
            expectedTokens -= f.expectedTokens;
            failed++;
            violations.add("request " + r.id() + " was refused: " + e.getMessage());
            end(f, new int[0]);
        }
    }

    /** Tokens a request will generate: what it asked for, unless the context (or a whole cache) ends it first. */
    private int expectedTokens(SimRequest r) {
        var core = pool.everJoined().getFirst().core();
        long limit = Math.min(core.maxContextTokens(), (long) core.totalBlocks() * core.blockSize() + 1);
        return (int) Math.max(0, Math.min(r.maxTokens(), limit - r.promptTokens().length));
    }

    private void onOutput(String requestId) {
        Flight f = flights.get(requestId);
        if (f == null) return;
        GenerateOutput out;
        try {
            out = f.stream.next();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        if (out == null) return;
        long now = loop.now();
        int k = out.tokenIds().length;
        if (k > 0) {
            if (f.firstTokenAt < 0) {
                f.firstTokenAt = now;
                ttft.record(now - f.request.arrivalNanos());
                if (ttftCount == ttfts.length) ttfts = Arrays.copyOf(ttfts, ttftCount * 2);
                ttfts[ttftCount++] = (now - f.request.arrivalNanos()) / 1e9;
            } else {
                long gap = (now - f.lastTokenAt) / k;
                for (int i = 0; i < k; i++) itl.record(gap);
            }
            f.lastTokenAt = now;
            if (workload.usesReplies()) {
                int[] r = f.reply == null ? new int[0] : f.reply;
                int[] grown = Arrays.copyOf(r, r.length + k);
                System.arraycopy(out.tokenIds(), 0, grown, r.length, k);
                f.reply = grown;
            }
            f.generated += k;
        }
        if (!out.finished()) return;
        flights.remove(requestId);
        if (out.finishReason() == FinishReason.ERROR || out.finishReason() == FinishReason.CANCELLED) {
            failed++;
            violations.add("request " + requestId + " ended with " + out.finishReason() + ": " + out.error());
        } else {
            completed++;
        }
        e2e.record(now - f.request.arrivalNanos());
        promptTokens += out.usage().promptTokens();
        cachedTokens += out.usage().cachedPromptTokens();
        outputTokens += f.generated;
        if (f.generated != f.expectedTokens) {
            violations.add("request " + requestId + " generated " + f.generated + " tokens, expected " + f.expectedTokens);
        }
        lastFinish = Math.max(lastFinish, now);
        end(f, f.reply == null ? new int[0] : f.reply);
    }

    private void end(Flight f, int[] reply) {
        ended++;
        workload.finished(f.request, reply, this);
    }

    private void tick() {
        List<SimWorker> workers = pool.workers();
        double[] busy = new double[workers.size()];
        boolean working = false;
        for (int i = 0; i < workers.size(); i++) {
            SimWorker w = workers.get(i);
            router.onLoad(w.id(), w.stats());
            busy[i] = w.busySeconds();
            working |= w.busy();
        }
        router.tick();
        timeline.sample(loop.now(), busy);
        // After the last request, a few more reports: they reveal KV events lost at the tail of a worker's stream.
        if (ended >= workload.totalRequests() && pendingArrivals == 0 && ++drainTicks > DRAIN_TICKS) return;
        if (!working && pendingArrivals == 0 && !flights.isEmpty()) {
            throw new IllegalStateException("the simulation stalled at " + loop.now() / 1e9 + " s: " + flights.size()
                    + " requests in flight, no worker has work and no request is due");
        }
        loop.after(settings.tickNanos(), this::tick);
    }

    private void check() {
        long total = workload.totalRequests();
        if (completed != total) violations.add(completed + " of " + total + " requests completed");
        if (outputTokens != expectedTokens) violations.add(outputTokens + " tokens generated, " + expectedTokens + " asked for");
        for (SimWorker w : pool.everJoined()) {
            EngineStats s = w.stats();
            if (s.waitingRequests() + s.runningRequests() != 0 || s.kvBlocksUsed() != 0) {
                violations.add(w.id() + " is not idle at the end: " + s);
            }
            if (!pool.workers().contains(w)) continue;
            long[] held = w.core().kvSnapshot().allHashes().stream().mapToLong(Long::longValue).sorted().toArray();
            if (!Arrays.equals(held, router.indexedHashes(w.id()))) {
                violations.add("the router's index of " + w.id() + " differs from its cache (" + router.indexedHashes(w.id()).length
                        + " vs " + held.length + " blocks)");
            }
        }
        RouterStats rs = router.routerStats();
        if (rs.trackedRequests() != 0) violations.add("the router still tracks " + rs.trackedRequests() + " requests");
    }

    private PolicyResult result() {
        LatencyStats t = ttft.build(), i = itl.build(), e = e2e.build();
        double span = lastFinish > firstArrival ? (lastFinish - firstArrival) / 1e9 : 0;
        double busiest = 0, idlest = Double.MAX_VALUE;
        long preemptions = 0;
        for (SimWorker w : pool.everJoined()) {
            double load = span > 0 ? w.busySeconds() / span : 0;
            busiest = Math.max(busiest, load);
            idlest = Math.min(idlest, load);
            preemptions += w.core().preemptions();
        }
        RouterStats rs = router.routerStats();
        return new PolicyResult(router.policyName(), settings.workers(), workload.totalRequests(), completed, failed,
                t.p50(), t.p90(), t.p99(), t.mean(), i.p50(), i.p99(), e.p50(), span > 0 ? outputTokens / span : 0, outputTokens,
                promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens, rs.predictedHitRate(), busiest,
                idlest == Double.MAX_VALUE ? 0 : idlest, lastFinish / 1e9, preemptions, rs.kvEventsApplied());
    }
}
