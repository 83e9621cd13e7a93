package ai.armature.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

import ai.armature.bench.LatencyStats;
import ai.armature.planner.Autoscaler;
import ai.armature.planner.Decision;
import ai.armature.planner.PlannerConfig;
import ai.armature.planner.Pool;
import ai.armature.planner.ScalingPolicy;
import ai.armature.protocol.Migration;
import ai.armature.protocol.TrafficCounters;
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
import ai.armature.router.disagg.DisaggregatedRouter;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.protocol.GenerationEngine;
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
 * <p>With a {@link Plan} that has a policy, a planner sizes the pool: every {@code --interval} of virtual time an
 * {@link Autoscaler} observes the workers' traffic and load and starts workers (serving after the startup time,
 * {@link VirtualConnector}) or drains them (they finish their requests; past the drain timeout what is left is
 * handed back and migrated to another worker with the tokens so far). A request that arrives when no worker serves
 * waits, and the planner starts one at once; those waiting, and those waiting at the router while every worker is
 * busy, are the demand the planner sees in front of the pool. Every run, planned or static, reports the
 * worker-seconds provisioned (start-up included), the share of requests within both targets, utilization (busy over
 * provisioned worker-seconds), scale events and requests lost.
 *
 * <p>With {@link Disaggregation}, the pool is prefill and decode workers and requests go through the real
 * {@link DisaggregatedRouter} (the frontend's: the conditional rule, the prefill queue bound, the one cost in each
 * pool), its hand-off run inline on the loop; KV blocks move between workers in virtual time ({@link SimKvTransfers}).
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
                           double kvEventLoss, long seed, Disaggregation disaggregation) {
        public Settings {
            if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
            if (tickNanos <= 0) throw new IllegalArgumentException("the load report interval must be > 0");
            if (!(kvEventLoss >= 0 && kvEventLoss < 1)) throw new IllegalArgumentException("--kv-event-loss must be in [0, 1), got " + kvEventLoss);
            if (disaggregation != null && disaggregation.prefillWorkers() + disaggregation.decodeWorkers() != workers) {
                throw new IllegalArgumentException("the prefill and decode workers (" + disaggregation.prefillWorkers() + " + "
                        + disaggregation.decodeWorkers() + ") must be all " + workers + " workers");
            }
        }

        /** Aggregated workers only. */
        public Settings(int workers, MockProfile profile, ServingConfig serving, RouterConfig router, long tickNanos, double kvEventLoss, long seed) {
            this(workers, profile, serving, router, tickNanos, kvEventLoss, seed, null);
        }

        public Settings withRouter(RouterConfig r) {
            return new Settings(workers, profile, serving, r, tickNanos, kvEventLoss, seed, disaggregation);
        }

        /** These settings with the workers split into prefill and decode ones ({@code d}; null: aggregated). */
        public Settings withDisaggregation(Disaggregation d) {
            return new Settings(d == null ? workers : d.prefillWorkers() + d.decodeWorkers(), profile, serving, router, tickNanos,
                    kvEventLoss, seed, d);
        }
    }

    /**
     * Disaggregated prefill and decode, as {@code serve --prefill-workers N --decode-workers M}: the workers' roles,
     * the conditional rule ({@code --max-local-prefill-tokens}, {@code --max-prefill-queue-tokens}) and the KV link
     * bandwidth between workers ({@code --transfer-bandwidth}, bytes per second).
     */
    public record Disaggregation(int prefillWorkers, int decodeWorkers, double transferBytesPerSecond, RemotePrefillRule rule) {
        /** 50 GB/s, the default (an RDMA-class link). */
        public static final double DEFAULT_TRANSFER_BYTES_PER_SECOND = 50e9;

        public Disaggregation {
            if (prefillWorkers < 1) throw new IllegalArgumentException("--prefill-workers must be at least 1, got " + prefillWorkers);
            if (decodeWorkers < 1) throw new IllegalArgumentException("--decode-workers must be at least 1, got " + decodeWorkers);
            if (!(transferBytesPerSecond > 0) || Double.isInfinite(transferBytesPerSecond)) {
                throw new IllegalArgumentException("--transfer-bandwidth must be a positive number of GB/s");
            }
            java.util.Objects.requireNonNull(rule, "rule");
        }
    }

    /**
     * How the pool is sized: {@code name} ({@code static}, or the policy's), a fresh policy per run (null: the
     * static fleet of {@code Settings.workers}), the planner's settings (its targets also judge static runs), and
     * how long a draining worker may finish before its requests are handed back.
     */
    public record Plan(String name, java.util.function.Supplier<ScalingPolicy> policy, PlannerConfig config, double drainTimeoutSeconds) {
        public Plan {
            java.util.Objects.requireNonNull(name, "name");
            java.util.Objects.requireNonNull(config, "config");
            if (!(drainTimeoutSeconds >= 0)) throw new IllegalArgumentException("--drain-timeout must be >= 0, got " + drainTimeoutSeconds);
        }

        /** A fixed fleet judged against {@code config}'s targets. */
        public static Plan fixed(PlannerConfig config) {
            return new Plan("static", null, config, 60);
        }
    }

    /** One planner interval: time, observed request rate, workers serving / starting / draining, mean TTFT (NaN if none). */
    public record PlannerSample(double timeSeconds, double requestRate, int serving, int starting, int draining, double ttftMeanSeconds) {
    }

    /** A run's result, its TTFT samples (for the CDF), worker load over time, the planner's intervals, and any invariant that failed. */
    public record Outcome(PolicyResult result, double[] ttftSeconds, LoadTimeline timeline, List<PlannerSample> planner, List<String> violations) {
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
        /** Its worker drains past the timeout: the cancellation that follows moves it to another worker. */
        boolean handingBack;
        int attempts;
        Set<String> failedOn = Set.of();
        /** When it began waiting at the router because every worker was busy (-1: it is not waiting there). */
        long waitingSince = -1;
        /** Its latest submission reached a worker. */
        boolean atWorker;

        Flight(SimRequest request, int expectedTokens) {
            this.request = request;
            this.expectedTokens = expectedTokens;
        }
    }

    private final Settings settings;
    private final Plan plan;
    private final SimWorkload workload;
    private final Autoscaler autoscaler;
    private static final long SURGE_CHECK_NANOS = Math.round(Autoscaler.SURGE_CHECK_SECONDS * 1e9);
    private final java.util.ArrayDeque<Flight> held = new java.util.ArrayDeque<>();
    private final List<PlannerSample> plannerSamples = new ArrayList<>();
    private long metSlo, metTtft, metItl, migrations, timedOut;
    private int peakWorkers;
    private final EventLoop loop = new EventLoop();
    private final Router router;
    /** What requests are submitted to: the router, or the disaggregated router over it. */
    private final GenerationEngine engine;
    private final SimKvTransfers transfers;
    private final long[] placements = new long[RemotePrefillRule.Choice.values().length];
    private long prefillFallbacks;
    /** Disaggregated runs: flights by their prefill half's request id (the prefill worker's outputs carry it). */
    private final Map<String, Flight> byPrefillId = new HashMap<>();
    private final WorkerPool pool;
    private final Map<String, Flight> flights = new HashMap<>();
    private final LoadTimeline timeline = new LoadTimeline();
    private final LatencyStats.Builder ttft = new LatencyStats.Builder();
    private final LatencyStats.Builder itl = new LatencyStats.Builder();
    private final LatencyStats.Builder e2e = new LatencyStats.Builder();
    private double[] ttfts = new double[1024];
    private int ttftCount;
    private long routerTimeouts;
    private long pendingArrivals, ended, completed, failed, promptTokens, cachedTokens, outputTokens, expectedTokens;
    private long firstArrival = Long.MAX_VALUE, lastFinish;
    private int drainTicks;
    private static final int DRAIN_TICKS = 3;
    private final List<String> violations = new ArrayList<>();

    /** A static fleet of {@code settings.workers()}, judged against the default targets. */
    public Simulation(Settings settings, SimWorkload workload) {
        this(settings, workload, Plan.fixed(PlannerConfig.defaults()));
    }

    public Simulation(Settings settings, SimWorkload workload, Plan plan) {
        this.settings = settings;
        this.plan = plan;
        this.workload = workload;
        Logger.getLogger("ai.armature.serving.EngineCore").setLevel(Level.WARNING);
        this.loss = new java.util.SplittableRandom(settings.seed() ^ 0x1055L);
        this.router = new Router(settings.router(), LoadBus.NONE, loop::now);
        Disaggregation disagg = settings.disaggregation();
        if (disagg != null && plan.policy() != null) {
            throw new IllegalArgumentException("a planned simulation (--planner " + plan.name() + ") sizes an aggregated pool: it cannot be"
                    + " combined with --prefill-workers/--decode-workers");
        }
        this.transfers = disagg == null ? null : new SimKvTransfers(disagg.transferBytesPerSecond());
        this.engine = disagg == null ? router : new DisaggregatedRouter(router, disagg.rule(), id -> "", new DisaggregatedRouter.Listener() {
            @Override
            public void placed(RemotePrefillRule.Choice choice) {
                placements[choice.ordinal()]++;
            }

            @Override
            public void fellBack(String reason) {
                prefillFallbacks++;
            }
        }, Runnable::run);
        this.pool = new WorkerPool(settings.profile(), settings.serving(), loop, router, new SimWorker.Listener() {
            @Override
            public void kvEvents(String workerId, List<KvEvent> events) {
                router.onKvEvents(workerId, settings.kvEventLoss() > 0 ? lose(events) : events);
            }

            @Override
            public void output(String requestId) {
                onOutput(requestId);
            }

            @Override
            public void submitted(String requestId) {
                Flight f = flights.get(requestId);
                if (f == null && transfers != null) f = byPrefillId.get(requestId);
                if (f != null) {
                    f.atWorker = true;
                    f.waitingSince = -1;
                }
            }
        }, transfers);
        if (disagg == null) {
            for (int i = 0; i < settings.workers(); i++) pool.add(WorkerRole.AGGREGATED);
        } else {
            for (int i = 0; i < disagg.prefillWorkers(); i++) pool.add(WorkerRole.PREFILL);
            for (int i = 0; i < disagg.decodeWorkers(); i++) pool.add(WorkerRole.DECODE);
        }
        peakWorkers = settings.workers();
        if (plan.policy() == null) {
            autoscaler = null;
        } else {
            PlannerConfig pc = plan.config();
            VirtualConnector connector = new VirtualConnector(loop, pool, pc.workerStartupSeconds(), plan.drainTimeoutSeconds(),
                    new VirtualConnector.Hooks() {
                        @Override
                        public void serving(String workerId, Pool p) {
                            autoscaler.registered(workerId, p, loop.now() / 1e9);
                            peakWorkers = Math.max(peakWorkers, pool.size());
                            releaseHeld();
                        }

                        @Override
                        public void handBack(String workerId) {
                            handBackFrom(workerId);
                        }
                    });
            autoscaler = new Autoscaler(plan.policy().get(), connector, pc, List.of(Pool.AGGREGATED),
                    Math.max(600, 10 * pc.workerStartupSeconds()));
            for (SimWorker w : pool.workers()) autoscaler.registered(w.id(), Pool.AGGREGATED, 0);
        }
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

    /** Disaggregated runs: requests placed so far with the rule's {@code choice} (REMOTE: prefilled on a prefill worker). */
    public long placements(RemotePrefillRule.Choice choice) {
        return placements[choice.ordinal()];
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
        if (autoscaler != null) {
            loop.after(Math.round(plan.config().intervalSeconds() * 1e9), this::plan);
            loop.after(SURGE_CHECK_NANOS, this::surgeCheck);
        }
        loop.run();
        check();
        return new Outcome(result(), Arrays.copyOf(ttfts, ttftCount), timeline, List.copyOf(plannerSamples), List.copyOf(violations));
    }

    private void arrive(SimRequest r) {
        pendingArrivals--;
        firstArrival = Math.min(firstArrival, loop.now());
        Flight f = new Flight(r, expectedTokens(r));
        expectedTokens += f.expectedTokens;
        flights.put(r.id(), f);
        if (transfers != null) byPrefillId.put(DisaggregatedRouter.prefillRequestId(r.id()), f);
        GenerateRequest request = new GenerateRequest(r.id(), r.promptTokens(), SamplingParams.GREEDY,
                new StopConditions(r.maxTokens(), null, true, false));
        if (autoscaler != null && !held.isEmpty()) {
            held.addLast(f); // the earlier ones go first
            return;
        }
        try {
            submit(f, request);
        } catch (RequestRejectedException e) {
            if (autoscaler != null && e.reason() == RequestRejectedException.Reason.SHUTTING_DOWN) {
                hold(f);
                return;
            }
            flights.remove(r.id());
            expectedTokens -= f.expectedTokens;
            failed++;
            violations.add("request " + r.id() + " was refused: " + e.getMessage());
            end(f, new int[0]);
        }
    }

    /**
     * Submits through the router. A request the router holds back because every worker is busy is marked as waiting
     * there until a worker gets it: past the router's wait timeout the router ends it ({@link #timeOutWaiting}).
     */
    private void submit(Flight f, GenerateRequest request) {
        long waited = router.routerStats().waitedTotal();
        f.waitingSince = -1;
        f.atWorker = false;
        f.stream = engine.submit(request);
        if (router.routerStats().waitedTotal() > waited && !f.atWorker) f.waitingSince = loop.now();
    }

    /**
     * The requests the router's tick just ended for waiting longer than its {@code --router-wait-timeout} (a 503 in
     * serving): they end here, counted as timed out (and as SLO misses). Only the router knows which it ended; they
     * are the ones waiting there at least that long, and their count must be the router's.
     */
    private void timeOutWaiting() {
        long timeout = settings.router().waitTimeout().toNanos();
        long total = router.routerStats().waitTimeouts();
        long newly = total - routerTimeouts;
        routerTimeouts = total;
        if (timeout <= 0 || newly == 0) return;
        long now = loop.now();
        List<Flight> expired = new ArrayList<>();
        for (Flight f : flights.values()) if (f.waitingSince >= 0 && now - f.waitingSince >= timeout) expired.add(f);
        if (expired.size() != newly) {
            violations.add("the router timed out " + newly + " waiting requests at " + now / 1e9 + " s, " + expired.size() + " waited that long");
            return;
        }
        expired.sort(java.util.Comparator.comparing((Flight f) -> f.request.id()));
        for (Flight f : expired) {
            GenerateOutput out;
            try {
                out = f.stream.next();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (out == null || out.finishReason() != FinishReason.ERROR) {
                violations.add("request " + f.request.id() + " timed out at the router but ended with " + (out == null ? "nothing" : out.finishReason()));
            }
            f.waitingSince = -1;
            flights.remove(f.request.id());
            expectedTokens -= f.expectedTokens;
            timedOut++;
            lastFinish = Math.max(lastFinish, now);
            end(f, f.reply == null ? new int[0] : f.reply);
        }
    }

    /** A request no worker can take now (none serves): it waits, and the planner starts a worker if none is coming. */
    private void hold(Flight f) {
        held.addLast(f);
        autoscaler.demand(Pool.AGGREGATED, loop.now() / 1e9);
    }

    /** A worker serves: the held requests go in arrival order while the router takes them. */
    private void releaseHeld() {
        while (!held.isEmpty()) {
            Flight f = held.peekFirst();
            try {
                submit(f, resumed(f));
            } catch (RequestRejectedException e) {
                if (e.reason() == RequestRejectedException.Reason.SHUTTING_DOWN) return;
                held.removeFirst();
                flights.remove(f.request.id());
                failed++;
                violations.add("request " + f.request.id() + " was refused: " + e.getMessage());
                end(f, new int[0]);
                continue;
            }
            held.removeFirst();
        }
    }

    /** The request as it stands: new, or resumed with the tokens generated so far (after a hand-back). */
    private static GenerateRequest resumed(Flight f) {
        SimRequest r = f.request;
        if (f.generated == 0) {
            return new GenerateRequest(r.id(), r.promptTokens(), SamplingParams.GREEDY, new StopConditions(r.maxTokens(), null, true, false));
        }
        int[] prompt = Arrays.copyOf(r.promptTokens(), r.promptTokens().length + f.generated);
        System.arraycopy(f.reply, 0, prompt, r.promptTokens().length, f.generated);
        return new GenerateRequest(r.id(), prompt, SamplingParams.GREEDY, new StopConditions(r.maxTokens() - f.generated, null, true, false), 0,
                null, new Migration(f.generated, f.attempts, f.failedOn));
    }

    /** A draining worker's time is up: its requests are cancelled there and resumed elsewhere. */
    private void handBackFrom(String workerId) {
        SimWorker w = pool.drainingWorker(workerId);
        if (w == null) return;
        for (String id : w.inFlight()) {
            Flight f = flights.get(id);
            if (f == null) continue;
            f.handingBack = true;
            f.attempts++;
            Set<String> failed = new java.util.HashSet<>(f.failedOn);
            failed.add(workerId);
            f.failedOn = Set.copyOf(failed);
            engine.cancel(id);
        }
    }

    /** Tokens a request will generate: what it asked for, unless the context (or a whole cache) ends it first. */
    private int expectedTokens(SimRequest r) {
        var core = pool.everJoined().getFirst().core();
        long limit = Math.min(core.maxContextTokens(), (long) core.totalBlocks() * core.blockSize() + 1);
        return (int) Math.max(0, Math.min(r.maxTokens(), limit - r.promptTokens().length));
    }

    private void onOutput(String outputId) {
        Flight f = flights.get(outputId);
        if (f == null && transfers != null) f = byPrefillId.get(outputId);
        if (f == null) return;
        String requestId = f.request.id();
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
            if (workload.usesReplies() || autoscaler != null) {
                int[] r = f.reply == null ? new int[0] : f.reply;
                int[] grown = Arrays.copyOf(r, r.length + k);
                System.arraycopy(out.tokenIds(), 0, grown, r.length, k);
                f.reply = grown;
            }
            f.generated += k;
        }
        if (!out.finished()) return;
        if (f.handingBack && out.finishReason() == FinishReason.CANCELLED) {
            // Handed back by a draining worker: on to another one, with what it generated so far.
            f.handingBack = false;
            migrations++;
            try {
                submit(f, resumed(f));
            } catch (RequestRejectedException e) {
                if (e.reason() != RequestRejectedException.Reason.SHUTTING_DOWN) throw e;
                hold(f);
            }
            return;
        }
        flights.remove(requestId);
        if (out.finishReason() == FinishReason.ERROR || out.finishReason() == FinishReason.CANCELLED) {
            failed++;
            violations.add("request " + requestId + " ended with " + out.finishReason() + ": " + out.error());
        } else {
            completed++;
            double ttftS = (f.firstTokenAt - f.request.arrivalNanos()) / 1e9;
            double itlS = f.generated > 1 ? (f.lastTokenAt - f.firstTokenAt) / 1e9 / (f.generated - 1) : 0;
            boolean ttftOk = f.firstTokenAt >= 0 && ttftS <= plan.config().slo().ttftSeconds(), itlOk = itlS <= plan.config().slo().itlSeconds();
            if (ttftOk) metTtft++;
            if (itlOk) metItl++;
            if (ttftOk && itlOk) metSlo++;
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
        if (transfers != null) byPrefillId.remove(DisaggregatedRouter.prefillRequestId(f.request.id()));
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
        timeOutWaiting();
        timeline.sample(loop.now(), busy);
        // After the last request, a few more reports: they reveal KV events lost at the tail of a worker's stream.
        if (ended >= workload.totalRequests() && pendingArrivals == 0 && ++drainTicks > DRAIN_TICKS) return;
        if (!working && pendingArrivals == 0 && !flights.isEmpty() && held.isEmpty() && !draining()) {
            throw new IllegalStateException("the simulation stalled at " + loop.now() / 1e9 + " s: " + flights.size()
                    + " requests in flight, no worker has work and no request is due");
        }
        loop.after(settings.tickNanos(), this::tick);
    }

    private boolean draining() {
        return autoscaler != null && (autoscaler.fleet(Pool.AGGREGATED).draining() > 0 || autoscaler.fleet(Pool.AGGREGATED).starting() > 0);
    }

    /** One planner interval: observe, decide, apply; stops once every request has ended. */
    private void plan() {
        if (ended >= workload.totalRequests() && pendingArrivals == 0) return;
        double now = loop.now() / 1e9;
        List<Decision> made = autoscaler.tick(now, signals());
        for (Decision d : made) {
            var fleet = autoscaler.fleet(d.pool());
            double ttftMean = d.observed() == null ? Double.NaN : d.observed().traffic().meanTtftSeconds();
            plannerSamples.add(new PlannerSample(now, d.observedRate(), fleet.serving(), fleet.starting(), fleet.draining(), ttftMean));
        }
        loop.after(Math.round(plan.config().intervalSeconds() * 1e9), this::plan);
    }

    /** What the planner reads now: the workers' counters and load reports, and the requests waiting for a worker. */
    private Autoscaler.Signals signals() {
        Map<String, EngineStats> loads = new HashMap<>();
        for (SimWorker w : pool.workers()) loads.put(w.id(), w.stats());
        Map<String, TrafficCounters> traffic = pool.traffic();
        int routerWaiting = router.routerStats().waitingRequests();
        return new Autoscaler.Signals() {
            @Override
            public Map<String, TrafficCounters> traffic() {
                return traffic;
            }

            @Override
            public Map<String, EngineStats> loads() {
                return loads;
            }

            @Override
            public int held(Pool p) {
                // Held for want of a worker, and waiting at the router while every worker is busy: both are demand.
                return held.size() + routerWaiting;
            }
        };
    }

    /** The planner's surge check between decisions ({@link Autoscaler#check}), as the planner role runs it. */
    private void surgeCheck() {
        if (ended >= workload.totalRequests() && pendingArrivals == 0) return;
        autoscaler.check(loop.now() / 1e9, signals());
        loop.after(SURGE_CHECK_NANOS, this::surgeCheck);
    }

    private void check() {
        long total = workload.totalRequests();
        if (completed + timedOut != total) violations.add(completed + " of " + total + " requests completed, " + timedOut + " timed out at the router");
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

    /** Requests with decode workers to go to that prefilled where they were decoded, by the rule's choice. */
    private long localPrefills() {
        long n = 0;
        for (RemotePrefillRule.Choice c : RemotePrefillRule.Choice.values()) if (c != RemotePrefillRule.Choice.REMOTE) n += placements[c.ordinal()];
        return n;
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
        double end = lastFinish / 1e9;
        double workerSeconds = pool.workerSeconds(end);
        double busy = 0;
        for (SimWorker w : pool.everJoined()) busy += w.busySeconds();
        long total = workload.totalRequests();
        return new PolicyResult(router.policyName(), settings.workers(), total, completed, failed,
                t.p50(), t.p90(), t.p99(), t.mean(), i.p50(), i.p99(), e.p50(), span > 0 ? outputTokens / span : 0, outputTokens,
                promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens, rs.predictedHitRate(), busiest,
                idlest == Double.MAX_VALUE ? 0 : idlest, end, preemptions, rs.kvEventsApplied(), plan.name(), peakWorkers, workerSeconds,
                total == 0 ? 1 : (double) metSlo / total, workerSeconds > 0 ? Math.min(1, busy / workerSeconds) : 0,
                autoscaler == null ? 0 : autoscaler.scaleEvents(), total - completed - timedOut, migrations,
                total == 0 ? 1 : (double) metTtft / total, total == 0 ? 1 : (double) metItl / total,
                settings.disaggregation() == null ? 0 : settings.disaggregation().prefillWorkers(),
                placements[RemotePrefillRule.Choice.REMOTE.ordinal()], localPrefills(), prefillFallbacks,
                transfers == null ? 0 : transfers.transfers(), transfers == null ? 0 : transfers.bytes(),
                transfers == null ? 0 : transfers.seconds(), timedOut);
    }
}
