package ai.armature.router;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.router.index.KvIndexer;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.router.load.LoadBus;
import ai.armature.router.load.LoadEvent;
import ai.armature.router.load.LoadTracker;
import ai.armature.router.policy.Candidates;
import ai.armature.router.policy.KvPolicy;
import ai.armature.router.policy.LoadTermOrder;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.router.policy.RoutingPolicy;

/**
 * The router of one served model: a {@link GenerationEngine} over a set of workers that changes at run time. Each
 * request goes to the worker its {@link RoutingPolicy} picks from the candidates' predicted cached prefix (the
 * {@link KvIndexer}, fed by {@link #onKvEvents}) and load (the {@link LoadTracker}, fed by this router's own
 * decisions and streams, its replicas' {@link LoadEvent}s and the workers' {@link #onLoad} reports).
 *
 * <p>Who calls what: the embedded wiring or the distributed runtime registers workers ({@link #addWorker},
 * {@link #removeWorker}) and forwards their KV events and load reports; the frontend submits requests. A gap in a
 * worker's event ids makes the router fetch a snapshot from the worker's {@link KvSnapshotSource}. Replicas of the
 * router share a {@link LoadBus}: each publishes route / first-token / finish events under its id, so every replica
 * counts every replica's load, and drops a replica's requests when it leaves or goes silent.
 *
 * <p>Threading: thread-safe. One lock guards the index, the load and the policy; it is never held while calling a
 * worker or publishing to the bus (events to publish queue in order and are flushed after the lock is released),
 * so a worker's engine thread delivering KV events and a replica delivering load events cannot deadlock with a
 * decision. The router owns the engines of the workers it holds: {@link #close()} closes them;
 * {@link #removeWorker} hands one back without closing it.
 */
public final class Router implements GenerationEngine {

    private static final Logger LOG = Logger.getLogger(Router.class.getName());
    private static final int IMMEDIATE_SNAPSHOT_RETRIES = 3;

    private final RouterConfig config;
    private final String routerId;
    private final LongSupplier clock;
    private final LoadBus bus;
    private final AutoCloseable subscription;
    private final RoutingPolicy policy;
    private final ReentrantLock lock = new ReentrantLock();
    private final KvIndexer indexer;
    private final LoadTracker load = new LoadTracker();
    private final Candidates candidates = new Candidates();
    /** The aggregated workers ordered by the cost's load term, when the policy can use it (see {@link KvPolicy#ordered}). */
    private final LoadTermOrder order;
    private final long busyBound;
    private final SplittableRandom random;
    private final List<Handle> workers = new ArrayList<>();
    private final Map<String, Handle> byId = new HashMap<>();
    private Handle[] bySlot = new Handle[16];
    private String[] idBySlot = new String[16];
    /** Slots of the aggregated workers in the order they joined: the candidates of a plain submit. */
    private int[] aggregated = new int[0];
    /** Registered workers per role (by ordinal), replaced whole on every change. */
    private volatile int[] roleCounts = new int[WorkerRole.values().length];
    private int[] scratch = new int[16];
    private int[] prefillScratch = new int[16];
    /** The worker each request in flight was submitted to, for cancels. */
    private final Map<String, WorkerEndpoint> owners = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<LoadEvent> outbox = new ConcurrentLinkedQueue<>();
    private final ReentrantLock flushLock = new ReentrantLock();
    /** Gets each decision's latency in nanoseconds (see {@link RouterMetrics#timeDecisions}). */
    private volatile java.util.function.LongConsumer decisionTimer = nanos -> { };
    private volatile boolean closed;
    private volatile int lastMaxContext = Integer.MAX_VALUE;
    private ScheduledExecutorService maintenance;
    private long lastHeartbeat = Long.MIN_VALUE;

    // Counters (under the lock).
    private long decisions, routedPromptTokens, predictedHitTokens, reportedPromptTokens, reportedHitTokens;

    /**
     * Requests waiting for a worker that is not busy, in arrival order (under the lock): released from the front (oldest
     * first) or, while the oldest has waited {@link RouterConfig#lifoAfter} or more, from the back (newest first); the wait
     * timeout ends them from the front. See {@link RouterConfig#busyPrefillTokens}.
     */
    private final java.util.ArrayDeque<WaitingStream> waiting = new java.util.ArrayDeque<>();
    private final Map<String, WaitingStream> waitingById = new HashMap<>();
    private final ReentrantLock dispatchLock = new ReentrantLock();
    private volatile boolean dispatchWanted;
    private long waitedTotal, waitTimeouts, releasedNewestFirst;
    /** {@link RouterConfig#lifoAfter} in nanoseconds (0: always oldest first). */
    private final long lifoAfterNanos;

    /** One registered worker. */
    private static final class Handle {
        final WorkerEndpoint endpoint;
        final int slot;
        boolean snapshotInFlight;
        boolean snapshotWanted;
        int snapshotAttempts;
        /** A KV event id a load report named that had not arrived yet (0: none outstanding). */
        long reportedEventId;

        Handle(WorkerEndpoint endpoint, int slot) {
            this.endpoint = endpoint;
            this.slot = slot;
        }
    }

    /** Where a request was routed: the worker and the prompt tokens predicted cached there. */
    public record Route(WorkerEndpoint worker, int cachedTokens) {
    }

    /**
     * @param clock nanoseconds for TTLs and heartbeats ({@code System::nanoTime} in production, virtual time in
     *              simulation); decision latency is always measured in real time
     */
    public Router(RouterConfig config, LoadBus bus, LongSupplier clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.routerId = config.routerId();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.bus = Objects.requireNonNull(bus, "bus");
        this.policy = RoutingPolicy.create(config.policy(), config);
        this.lifoAfterNanos = config.lifoAfter().toNanos();
        this.order = policy instanceof KvPolicy kv && kv.ordered() ? new LoadTermOrder(kv.cost()) : null;
        this.busyBound = config.busyPrefillTokens();
        this.indexer = new KvIndexer(config.approxTtl().toNanos());
        this.random = new SplittableRandom(config.seed());
        this.subscription = bus.subscribe(this::onPeerEvent);
    }

    /** A router on the real clock with no replicas. */
    public Router(RouterConfig config) {
        this(config, LoadBus.NONE, System::nanoTime);
    }

    public RouterConfig config() {
        return config;
    }

    /** The routing policy's name. */
    public String policyName() {
        return policy.name();
    }

    /** Hands every decision's latency (nanoseconds, real time) to {@code timer}: how {@link RouterMetrics} observes them. */
    public void timeDecisions(java.util.function.LongConsumer timer) {
        this.decisionTimer = Objects.requireNonNull(timer, "timer");
    }

    /**
     * Runs {@link #tick()} every {@code interval} on a daemon thread until {@link #close()}; with
     * {@code pollWorkerStats}, first reads every worker's {@link GenerationEngine#stats()} as its load report (for
     * in-process workers, whose stats are a local read; remote workers' reports arrive through {@link #onLoad}).
     */
    public synchronized void startMaintenance(Duration interval, boolean pollWorkerStats) {
        if (maintenance != null) throw new IllegalStateException("maintenance is already running");
        maintenance = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon(true).name("armature-router-" + routerId).unstarted(r));
        long ms = Math.max(1, interval.toMillis());
        maintenance.scheduleWithFixedDelay(() -> {
            try {
                if (pollWorkerStats) pollWorkerStats();
                tick();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "router maintenance failed: " + e, e);
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    // ---------------------------------------------------------------- workers

    /** Adds a worker; requests may go to it at once. Throws if a worker with the same id is registered. */
    public void addWorker(WorkerEndpoint endpoint) {
        Objects.requireNonNull(endpoint, "endpoint");
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("the router is closed");
            if (byId.containsKey(endpoint.id())) throw new IllegalArgumentException("worker " + endpoint.id() + " is already registered");
            int slot = indexer.addWorker(endpoint.id(), endpoint.kvBlockSize(), endpoint.kvNamespace(), endpoint.publishesKvEvents(),
                    config.approxMaxBlocks());
            load.addWorker(slot, endpoint.kvBlockSize());
            policy.workerAdded(endpoint.id(), endpoint.kvBlockSize(), endpoint.kvNamespace());
            Handle h = new Handle(endpoint, slot);
            if (slot >= bySlot.length) {
                bySlot = Arrays.copyOf(bySlot, Math.max(slot + 1, bySlot.length * 2));
                idBySlot = Arrays.copyOf(idBySlot, bySlot.length);
            }
            bySlot[slot] = h;
            idBySlot[slot] = endpoint.id();
            workers.add(h);
            byId.put(endpoint.id(), h);
            rebuildAggregated();
            lastMaxContext = Integer.MAX_VALUE;
        } finally {
            lock.unlock();
        }
        LOG.fine(() -> "router " + routerId + ": worker " + endpoint.id() + " joined (" + (endpoint.publishesKvEvents() ? "exact" : "approximate")
                + ", blocks of " + endpoint.kvBlockSize() + ")");
        dispatchWaiting();
    }

    /**
     * Removes a worker at once: no new request goes to it and its index entries and load are dropped. Its requests
     * in flight keep their streams (the caller decides whether the worker drains or is gone). Returns the endpoint,
     * not closed, or null if it was not registered.
     */
    public WorkerEndpoint removeWorker(String workerId) {
        lock.lock();
        try {
            Handle h = byId.remove(workerId);
            if (h == null) return null;
            workers.remove(h);
            bySlot[h.slot] = null;
            idBySlot[h.slot] = null;
            rebuildAggregated();
            indexer.removeWorker(workerId);
            load.removeWorker(h.slot);
            policy.workerRemoved(workerId);
            return h.endpoint;
        } finally {
            lock.unlock();
        }
    }

    private void rebuildAggregated() {
        int[] a = new int[workers.size()];
        int n = 0;
        int[] roles = new int[WorkerRole.values().length];
        for (Handle h : workers) {
            roles[h.endpoint.role().ordinal()]++;
            if (h.endpoint.role() == WorkerRole.AGGREGATED) a[n++] = h.slot;
        }
        aggregated = Arrays.copyOf(a, n);
        roleCounts = roles;
        if (order != null) load.keepOrdered(order, aggregated, n);
        load.countBusy(busyBound, aggregated, n);
    }

    /** The registered workers, in the order they joined. */
    public List<WorkerEndpoint> workers() {
        lock.lock();
        try {
            List<WorkerEndpoint> out = new ArrayList<>(workers.size());
            for (Handle h : workers) out.add(h.endpoint);
            return out;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- KV events and load reports

    /** One KV event of a worker. */
    public void onKvEvent(String workerId, KvEvent event) {
        boolean resync;
        lock.lock();
        try {
            resync = indexer.ingest(workerId, event) == KvIndexer.Ingest.RESYNC_NEEDED;
        } finally {
            lock.unlock();
        }
        if (resync) resync(workerId);
    }

    /** KV events of a worker, in the order it published them. */
    public void onKvEvents(String workerId, List<KvEvent> events) {
        boolean resync;
        lock.lock();
        try {
            resync = indexer.ingestAll(workerId, events);
        } finally {
            lock.unlock();
        }
        if (resync) resync(workerId);
    }

    /**
     * A worker's load report: corrects the load bookkeeping; an approximate worker's cache size bounds its entries.
     * An exact worker's report also names its last KV event: if the id named by the previous report has still not
     * arrived, events were lost at the tail of its stream (nothing later would reveal the gap) and it is resynchronised.
     */
    public void onLoad(String workerId, EngineStats stats) {
        boolean resync = false;
        lock.lock();
        try {
            Handle h = byId.get(workerId);
            if (h == null) return;
            load.report(h.slot, stats);
            // The cache size bounds the guesses about an approximate worker, or about an exact one whose cache is unknown.
            if (stats.kvBlocksTotal() > 0) indexer.setMaxBlocks(workerId, stats.kvBlocksTotal());
            if (h.endpoint.publishesKvEvents() && stats.lastKvEventId() > 0 && !indexer.resyncing(workerId)) {
                long applied = indexer.lastEventId(workerId);
                if (h.reportedEventId > applied) {
                    resync = indexer.markGap(workerId);
                    h.reportedEventId = 0;
                } else {
                    // Events travel apart from reports and may be a little behind: wait one more report before deciding.
                    h.reportedEventId = stats.lastKvEventId() > applied ? stats.lastKvEventId() : 0;
                }
            }
        } finally {
            lock.unlock();
        }
        if (resync) {
            LOG.info("router " + routerId + ": worker " + workerId + " reported KV events that never arrived; resynchronising it");
            resync(workerId);
        }
        dispatchWaiting();
    }

    /** Reads every registered worker's stats as its load report. */
    public void pollWorkerStats() {
        for (WorkerEndpoint w : workers()) {
            try {
                onLoad(w.id(), w.engine().stats());
            } catch (RuntimeException e) {
                LOG.fine(() -> "reading the stats of worker " + w.id() + " failed: " + e);
            }
        }
    }

    /** Periodic maintenance: approximate-mode expiry, replica heartbeats and expiry, snapshot retries. */
    public void tick() {
        long now = clock.getAsLong();
        List<String> retry = new ArrayList<>();
        List<WaitingStream> timedOut = new ArrayList<>();
        lock.lock();
        try {
            long timeout = config.waitTimeout().toNanos();
            while (timeout > 0 && !waiting.isEmpty() && now - waiting.peekFirst().since >= timeout) {
                WaitingStream w = waiting.pollFirst();
                waitingById.remove(w.requestId());
                waitTimeouts++;
                timedOut.add(w);
            }
            indexer.expire(now);
            int expired = load.expirePeers(now, config.peerTtl().toNanos());
            if (expired > 0) LOG.info("router " + routerId + ": " + expired + " replica(s) went silent; their load no longer counts");
            policy.tick(now);
            if (lastHeartbeat == Long.MIN_VALUE || now - lastHeartbeat >= config.heartbeatInterval().toNanos()) {
                lastHeartbeat = now;
                publish(new LoadEvent.Heartbeat(routerId));
            }
            for (Handle h : workers) {
                if (h.snapshotWanted && !h.snapshotInFlight) {
                    h.snapshotWanted = false;
                    h.snapshotAttempts = 0;
                    retry.add(h.endpoint.id());
                }
            }
        } finally {
            lock.unlock();
        }
        flushOutbox();
        for (WaitingStream w : timedOut) {
            w.end(ai.armature.protocol.FinishReason.ERROR, GenerateOutput.ErrorKind.UNAVAILABLE, "every worker stayed busy for " + config.waitTimeout().toSeconds()
                    + " s (--router-wait-timeout): retry later");
        }
        if (!timedOut.isEmpty()) LOG.info("router " + routerId + ": " + timedOut.size() + " waiting request(s) timed out, every worker busy");
        for (String id : retry) resync(id);
        dispatchWaiting();
    }

    /** Fetches a snapshot of a worker that lost events (or gives up on its entries when it has no snapshot source). */
    private void resync(String workerId) {
        KvSnapshotSource source;
        Handle h;
        lock.lock();
        try {
            h = byId.get(workerId);
            if (h == null || !indexer.resyncing(workerId) || h.snapshotInFlight) return;
            source = h.endpoint.snapshots();
            if (source == null) {
                indexer.abandonResync(workerId);
                LOG.warning("router " + routerId + ": worker " + workerId + " skipped KV events and offers no snapshot: its cache entries were dropped");
                return;
            }
            h.snapshotInFlight = true;
            h.snapshotAttempts++;
        } finally {
            lock.unlock();
        }
        CompletableFuture<KvCacheSnapshot> f;
        try {
            f = source.snapshot();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        Handle handle = h;
        f.whenComplete((snapshot, error) -> snapshotDone(handle, snapshot, error));
    }

    private void snapshotDone(Handle h, KvCacheSnapshot snapshot, Throwable error) {
        boolean again = false;
        lock.lock();
        try {
            h.snapshotInFlight = false;
            if (byId.get(h.endpoint.id()) != h) return; // removed (or replaced) meanwhile
            if (error != null) {
                h.snapshotWanted = true;
                LOG.warning("router " + routerId + ": snapshot of worker " + h.endpoint.id() + " failed (" + error + "); retrying");
                return;
            }
            boolean inStep = indexer.applySnapshot(h.endpoint.id(), snapshot);
            if (inStep) {
                h.snapshotAttempts = 0;
            } else if (indexer.resyncing(h.endpoint.id())) {
                if (h.snapshotAttempts < IMMEDIATE_SNAPSHOT_RETRIES) again = true;
                else h.snapshotWanted = true;
            }
        } finally {
            lock.unlock();
        }
        if (again) resync(h.endpoint.id());
    }

    // ---------------------------------------------------------------- routing

    /**
     * Picks a worker for {@code request} among the registered workers that pass {@code eligible}, are healthy and
     * are not in {@code exclude}, and books the request's load there (release it with {@link #unroute} if it will not
     * run). Returns null if there is no candidate.
     */
    public Route route(GenerateRequest request, Predicate<WorkerEndpoint> eligible, Set<String> exclude) {
        long start = System.nanoTime();
        Route r;
        lock.lock();
        try {
            int n = 0;
            for (Handle h : workers) {
                if (eligible.test(h.endpoint) && !exclude.contains(h.endpoint.id())) n = addScratch(n, h.slot);
            }
            r = decide(request, scratch, n, null);
        } finally {
            lock.unlock();
        }
        if (r != null) decisionTimer.accept(System.nanoTime() - start);
        flushOutbox();
        return r;
    }

    /** {@link #route} among the aggregated workers: the request path, with no per-worker work but the policy's. */
    private Route routeAggregated(GenerateRequest request, Set<String> exclude) {
        long start = System.nanoTime();
        Route r;
        lock.lock();
        try {
            r = decideAggregated(request, exclude);
        } finally {
            lock.unlock();
        }
        if (r != null) decisionTimer.accept(System.nanoTime() - start);
        flushOutbox();
        return r;
    }

    /** The decision of {@link #routeAggregated}, under the lock. */
    private Route decideAggregated(GenerateRequest request, Set<String> exclude) {
        if (exclude.isEmpty()) return decide(request, aggregated, aggregated.length, order);
        int n = 0;
        for (int slot : aggregated) if (!exclude.contains(idBySlot[slot])) n = addScratch(n, slot);
        return decide(request, scratch, n, null);
    }

    private int addScratch(int n, int slot) {
        if (n == scratch.length) scratch = Arrays.copyOf(scratch, n * 2);
        scratch[n] = slot;
        return n + 1;
    }

    /**
     * The policy's choice among {@code slots[0, n)}; a chosen worker found unhealthy is dropped and the policy asked
     * again (health is checked for the chosen worker only, so a decision costs nothing per healthy worker).
     */
    private Route decide(GenerateRequest request, int[] slots, int n, LoadTermOrder ordered) {
        if (n == 0) return null;
        boolean useIndex = startMatch(request);
        try {
            int i = choose(request, slots, n, useIndex, ordered);
            return i < 0 ? null : book(request.requestId(), request.promptTokens().length, i, candidates.cachedTokens(i), useIndex);
        } finally {
            if (useIndex) indexer.clearMatch();
        }
    }

    /** Matches the prompt in the KV index if the policy uses it (clear it with {@code indexer.clearMatch()}). */
    private boolean startMatch(GenerateRequest request) {
        boolean useIndex = policy.usesIndexer();
        if (useIndex) indexer.match(request.promptTokens(), request.promptTokens().length, request.cacheSalt());
        return useIndex;
    }

    /**
     * Makes {@code slots[0, n)} the candidates and returns the index of the policy's healthy choice, or -1;
     * {@code ordered}: null, or the order of exactly these slots.
     */
    private int choose(GenerateRequest request, int[] slots, int n, boolean useIndex, LoadTermOrder ordered) {
        int[] tokens = request.promptTokens();
        candidates.reset(tokens, tokens.length, request.cacheSalt(), random, slots, n, indexer, useIndex, load, idBySlot, ordered);
        while (candidates.size() > 0) {
            int i = policy.select(candidates);
            if (bySlot[candidates.slot(i)].endpoint.engine().healthy()) return i;
            candidates.remove(i);
        }
        return -1;
    }

    /** Books candidate {@code i} for request {@code requestId}: its load, approximate-mode entries, counters, replicas. */
    private Route book(String requestId, int promptLength, int i, int cached, boolean useIndex) {
        Handle chosen = bySlot[candidates.slot(i)];
        long now = clock.getAsLong();
        load.routed(routerId, requestId, chosen.slot, promptLength, cached);
        long[] approx = null;
        if (useIndex && indexer.routesApproximately(chosen.slot)) {
            indexer.recordRouted(chosen.endpoint.id(), now);
            approx = indexer.lastChain(chosen.endpoint.id());
        } else if (useIndex) {
            // Until the worker's events store the prompt's new blocks, the next request with the same prefix goes there too.
            indexer.recordPending(requestId, chosen.endpoint.id(), now);
        }
        policy.routed(candidates, i, now);
        decisions++;
        routedPromptTokens += promptLength;
        predictedHitTokens += cached;
        publish(new LoadEvent.Routed(routerId, requestId, chosen.endpoint.id(), promptLength, cached, approx));
        return new Route(chosen.endpoint, cached);
    }

    /** Where a request goes when prefill and decode may run on different workers: see {@link #routeDisaggregated}. */
    public record DisaggregatedRoute(Route decode, Route prefill, RemotePrefillRule.Choice choice) {
    }

    /**
     * Routes a request over disaggregated pools in one decision, with the one cost function in each pool: first the
     * decode worker among the healthy, not excluded workers {@code decodePool} accepts; then, when that worker has
     * the {@link WorkerRole#DECODE} role and {@code rule} says its uncached prompt tokens are worth a remote prefill, a
     * prefill worker among {@code prefillPool}, taken only while its queue (prompt tokens routed to it and not yet
     * prefilled) is below the rule's bound. Books the decode worker under the request's id (with only the prompt's
     * last partial block left to compute when the prefill is remote) and the prefill worker under
     * {@code prefillRequestId}; release them with {@link #unroute} if they will not run. Returns null when no decode
     * worker is available.
     */
    public DisaggregatedRoute routeDisaggregated(GenerateRequest request, String prefillRequestId, Predicate<WorkerEndpoint> decodePool,
                                                 Predicate<WorkerEndpoint> prefillPool, RemotePrefillRule rule, Set<String> exclude) {
        long start = System.nanoTime();
        DisaggregatedRoute r = null;
        lock.lock();
        try {
            int n = 0;
            for (Handle h : workers) {
                if (decodePool.test(h.endpoint) && !exclude.contains(h.endpoint.id())) n = addScratch(n, h.slot);
            }
            if (n > 0) {
                boolean useIndex = startMatch(request);
                try {
                    int prompt = request.promptTokens().length;
                    int d = choose(request, scratch, n, useIndex, null);
                    if (d >= 0) {
                        int cached = candidates.cachedTokens(d);
                        Route decode = book(request.requestId(), prompt, d, cached, useIndex);
                        RemotePrefillRule.Choice choice = decode.worker().role() != WorkerRole.DECODE ? RemotePrefillRule.Choice.LOCAL_NOT_DECODE_WORKER
                                : rule.worthRemote(prompt - cached) ? null : RemotePrefillRule.Choice.LOCAL_SHORT;
                        Route prefill = null;
                        if (choice == null) {
                            int m = 0;
                            if (prefillScratch.length < workers.size()) prefillScratch = new int[Math.max(16, 2 * workers.size())];
                            for (Handle h : workers) {
                                if (prefillPool.test(h.endpoint) && !exclude.contains(h.endpoint.id())) prefillScratch[m++] = h.slot;
                            }
                            int p = m == 0 ? -1 : choose(request, prefillScratch, m, useIndex, null);
                            if (p < 0) {
                                choice = RemotePrefillRule.Choice.LOCAL_NO_PREFILL_WORKER;
                            } else if (!rule.queueAdmits(load.prefillTokens(candidates.slot(p)))) {
                                choice = RemotePrefillRule.Choice.LOCAL_PREFILL_QUEUE_FULL;
                            } else {
                                choice = RemotePrefillRule.Choice.REMOTE;
                                prefill = book(prefillRequestId, prompt, p, candidates.cachedTokens(p), useIndex);
                                // The decode worker computes only the prompt's last partial block (and the first token).
                                int tail = prompt % decode.worker().kvBlockSize();
                                Handle dh = byId.get(decode.worker().id());
                                load.routed(routerId, request.requestId(), dh.slot, prompt, Math.max(cached, prompt - tail));
                                publish(new LoadEvent.Routed(routerId, request.requestId(), decode.worker().id(), prompt,
                                        Math.max(cached, prompt - tail), null));
                            }
                        }
                        r = new DisaggregatedRoute(decode, prefill, choice);
                    }
                } finally {
                    if (useIndex) indexer.clearMatch();
                }
            }
        } finally {
            lock.unlock();
        }
        if (r != null) decisionTimer.accept(System.nanoTime() - start);
        flushOutbox();
        return r;
    }

    /** Whether any registered worker has {@code role}. */
    public boolean hasRole(WorkerRole role) {
        return roleCounts[role.ordinal()] > 0;
    }

    /** Releases the load of a request booked by {@link #route} that will not run (its submit failed). */
    public void unroute(String requestId) {
        finished(requestId, null);
    }

    private void firstToken(String requestId) {
        lock.lock();
        try {
            load.firstToken(routerId, requestId);
        } finally {
            lock.unlock();
        }
        publish(new LoadEvent.FirstToken(routerId, requestId));
        flushOutbox();
        dispatchWaiting();
    }

    /** The request ended; {@code usage} (when it ran) counts the worker's reported prefix hit. */
    private void finished(String requestId, Usage usage) {
        lock.lock();
        try {
            load.finished(routerId, requestId);
            indexer.releasePending(requestId);
            if (usage != null && usage.completionTokens() > 0) {
                reportedPromptTokens += usage.promptTokens();
                reportedHitTokens += usage.cachedPromptTokens();
            }
        } finally {
            lock.unlock();
        }
        publish(new LoadEvent.Finished(routerId, requestId));
        flushOutbox();
        dispatchWaiting();
    }

    /** Routes and submits a request; a resumed request ({@code migration}) avoids the workers that failed it. */
    @Override
    public GenerationStream submit(GenerateRequest request) {
        return submit(request, request.migration() == null ? Set.of() : request.migration().excludedWorkerIds());
    }

    /**
     * Routes and submits a request to an aggregated worker not in {@code exclude}. A worker that refuses because it
     * is shutting down or its queue is full is skipped and the next choice tried; when every worker refused, the
     * last refusal is thrown (with no worker at all: SHUTTING_DOWN, "no worker is available").
     */
    public GenerationStream submit(GenerateRequest request, Set<String> exclude) {
        return submit(request, null, exclude);
    }

    /**
     * As {@link #submit(GenerateRequest, Set)} among the workers {@code eligible} accepts (null: the aggregated ones,
     * the fast path).
     */
    public GenerationStream submit(GenerateRequest request, Predicate<WorkerEndpoint> eligible, Set<String> exclude) {
        if (closed) {
            throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "the router is shutting down: retry on another frontend");
        }
        if (eligible == null && busyBound > 0) {
            WaitingStream w = null;
            lock.lock();
            try {
                // Behind requests already waiting (they go out in the queue's order), or when every worker it may go to is busy.
                if (!waiting.isEmpty() || mustWait(exclude)) {
                    if (waiting.size() >= config.maxWaiting()) {
                        throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL, "every worker is busy and "
                                + config.maxWaiting() + " requests are waiting at the router (--router-max-waiting): retry later");
                    }
                    w = new WaitingStream(this, request, exclude, clock.getAsLong());
                    waiting.addLast(w);
                    waitingById.put(request.requestId(), w);
                    waitedTotal++;
                }
            } finally {
                lock.unlock();
            }
            if (w != null) {
                dispatchWaiting(); // a worker may have freed up meanwhile
                return w;
            }
        }
        return submitNow(request, eligible, exclude);
    }

    /** Whether a request must wait: it has at least one aggregated worker to go to, and every one of them is busy. */
    private boolean mustWait(Set<String> exclude) {
        if (aggregated.length == 0) return false;
        if (exclude.isEmpty()) return load.busyCount() == aggregated.length;
        boolean any = false;
        for (int slot : aggregated) {
            if (exclude.contains(idBySlot[slot])) continue;
            if (!load.busy(slot)) return false;
            any = true;
        }
        return any;
    }

    /**
     * Sends waiting requests while the next in line may go to a worker that is not busy: each is routed under the lock
     * (so the next sees its load), then submitted outside it. The next in line is the oldest, or the newest while the
     * oldest has waited {@link RouterConfig#lifoAfter} or more (adaptive LIFO): once a backlog is that old, the
     * requests at its front have missed their first-token target whatever happens, and serving them first would make
     * every newer one miss it too; the newest still can meet it. The old ones go out once the backlog is gone (the
     * front is again younger than the bound, or the queue empty) unless the wait timeout ends them first. Called
     * whenever load drops or workers join; one thread dispatches at a time, and a call that finds another dispatching
     * leaves it a note to look again.
     */
    private void dispatchWaiting() {
        if (busyBound == 0) return;
        dispatchWanted = true;
        if (dispatchLock.isHeldByCurrentThread()) return; // called back while dispatching: the loop looks again
        while (dispatchWanted) {
            if (!dispatchLock.tryLock()) return;
            try {
                dispatchWanted = false;
                List<WaitingStream> go = new ArrayList<>();
                List<Route> routes = new ArrayList<>();
                lock.lock();
                try {
                    long now = lifoAfterNanos > 0 ? clock.getAsLong() : 0;
                    while (!waiting.isEmpty() && !closed) {
                        boolean newestFirst = lifoAfterNanos > 0 && now - waiting.peekFirst().since >= lifoAfterNanos;
                        WaitingStream w = newestFirst ? waiting.peekLast() : waiting.peekFirst();
                        if (aggregated.length == 0 || mustWait(w.exclude)) break;
                        if (newestFirst) {
                            waiting.pollLast();
                            releasedNewestFirst++;
                        } else {
                            waiting.pollFirst();
                        }
                        waitingById.remove(w.requestId());
                        long start = System.nanoTime();
                        Route r = decideAggregated(w.request, w.exclude);
                        if (r != null) decisionTimer.accept(System.nanoTime() - start);
                        go.add(w);
                        routes.add(r);
                    }
                } finally {
                    lock.unlock();
                }
                flushOutbox();
                for (int i = 0; i < go.size(); i++) start(go.get(i), routes.get(i));
            } finally {
                dispatchLock.unlock();
            }
        }
    }

    /** Submits a request that waited to the worker it was routed to (null: it has none left to go to). */
    private void start(WaitingStream w, Route r) {
        GenerationStream s;
        try {
            if (r == null) {
                s = submitNow(w.request, null, w.exclude);
            } else {
                try {
                    s = submit(r, w.request);
                } catch (RequestRejectedException e) {
                    if (e.reason() != RequestRejectedException.Reason.SHUTTING_DOWN && e.reason() != RequestRejectedException.Reason.QUEUE_FULL) throw e;
                    Set<String> skip = new java.util.HashSet<>(w.exclude);
                    skip.add(r.worker().id());
                    s = submitNow(w.request, null, skip);
                }
            }
        } catch (RequestRejectedException e) {
            w.end(ai.armature.protocol.FinishReason.ERROR, GenerateOutput.ErrorKind.of(e.reason()), e.getMessage());
            return;
        } catch (RuntimeException e) {
            w.end(ai.armature.protocol.FinishReason.ERROR, GenerateOutput.ErrorKind.INTERNAL, e.getMessage());
            return;
        }
        if (!w.dispatched(s)) {
            // Cancelled or closed while it was being sent: take it back from the worker.
            cancel(w.requestId());
            s.close();
        }
    }

    /** A waiting request's stream was closed: it leaves the queue. */
    void stopWaiting(WaitingStream w) {
        lock.lock();
        try {
            if (waitingById.remove(w.requestId(), w)) waiting.remove(w);
        } finally {
            lock.unlock();
        }
    }

    /** Routes and submits now, trying the next worker when one refuses (see {@link #submit(GenerateRequest, Set)}). */
    private GenerationStream submitNow(GenerateRequest request, Predicate<WorkerEndpoint> eligible, Set<String> exclude) {
        Set<String> skip = exclude;
        RequestRejectedException last = null;
        while (true) {
            Route r = eligible == null ? routeAggregated(request, skip) : route(request, eligible, skip);
            if (r == null) {
                if (last != null) throw last;
                throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN,
                        "no worker is available for this model right now: retry later");
            }
            try {
                return submit(r, request);
            } catch (RequestRejectedException e) {
                RequestRejectedException.Reason reason = e.reason();
                if (reason != RequestRejectedException.Reason.SHUTTING_DOWN && reason != RequestRejectedException.Reason.QUEUE_FULL) throw e;
                last = e;
                if (skip.isEmpty()) skip = new java.util.HashSet<>();
                else if (!(skip instanceof java.util.HashSet<String>)) skip = new java.util.HashSet<>(skip);
                skip.add(r.worker().id());
            }
        }
    }

    /**
     * Submits a request to the worker {@link #route} (or {@link #routeDisaggregated}) booked it on, under the same
     * request id: its stream is followed (first token, end) like a routed submit's, and a refusal releases the booking
     * before it is thrown.
     */
    public GenerationStream submit(Route route, GenerateRequest request) {
        WorkerEndpoint w = route.worker();
        // Registered before submitting, so a cancel racing with the submit still finds the owner: the engine it is
        // submitted to (not looked up by id, which costs a second lock per request and could name a newer endpoint).
        owners.put(request.requestId(), w);
        try {
            return new RoutedStream(w.engine().submit(request), request.requestId());
        } catch (RuntimeException e) {
            owners.remove(request.requestId());
            unroute(request.requestId());
            throw e;
        }
    }

    @Override
    public void cancel(String requestId) {
        WaitingStream w = null;
        if (busyBound > 0) {
            lock.lock();
            try {
                w = waitingById.remove(requestId);
                if (w != null) waiting.remove(w);
            } finally {
                lock.unlock();
            }
        }
        if (w != null) {
            w.end(ai.armature.protocol.FinishReason.CANCELLED, null, null);
            return;
        }
        WorkerEndpoint owner = owners.get(requestId);
        if (owner != null) owner.engine().cancel(requestId);
    }

    @Override
    public EngineStats stats() {
        List<EngineStats> parts = new ArrayList<>();
        for (WorkerEndpoint w : workers()) parts.add(w.engine().stats());
        return EngineStats.sum(parts);
    }

    /** The workers' KV tier counters, summed per tier. */
    @Override
    public List<ai.armature.protocol.kv.KvTierStats> kvTierStats() {
        List<List<ai.armature.protocol.kv.KvTierStats>> parts = new ArrayList<>();
        for (WorkerEndpoint w : workers()) parts.add(w.engine().kvTierStats());
        return ai.armature.protocol.kv.KvTierStats.sum(parts);
    }

    /** Healthy while at least one worker is. */
    @Override
    public boolean healthy() {
        if (closed) return false;
        for (WorkerEndpoint w : workers()) if (w.engine().healthy()) return true;
        return false;
    }

    /** The smallest context of the registered workers (with none registered: the last known, or unlimited). */
    @Override
    public int maxContextTokens() {
        List<WorkerEndpoint> ws = workers();
        if (ws.isEmpty()) return lastMaxContext;
        int min = Integer.MAX_VALUE;
        for (WorkerEndpoint w : ws) min = Math.min(min, w.engine().maxContextTokens());
        lastMaxContext = min;
        return min;
    }

    /** Leaves the replica group, stops maintenance and closes every registered worker's engine. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        synchronized (this) {
            if (maintenance != null) maintenance.shutdownNow();
        }
        List<WaitingStream> left;
        lock.lock();
        try {
            left = new ArrayList<>(waiting);
            waiting.clear();
            waitingById.clear();
        } finally {
            lock.unlock();
        }
        for (WaitingStream w : left) w.end(ai.armature.protocol.FinishReason.ERROR, GenerateOutput.ErrorKind.UNAVAILABLE,
                "the router shut down before a worker had room for the request");
        publish(new LoadEvent.Left(routerId));
        flushOutbox();
        try {
            subscription.close();
        } catch (Exception e) {
            LOG.fine(() -> "unsubscribing from the load bus failed: " + e);
        }
        RuntimeException first = null;
        for (WorkerEndpoint w : workers()) {
            try {
                w.engine().close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    // ---------------------------------------------------------------- replicas

    private void onPeerEvent(LoadEvent e) {
        if (e.routerId().equals(routerId)) return;
        long now = clock.getAsLong();
        lock.lock();
        try {
            if (e instanceof LoadEvent.Left l) {
                load.dropRouter(l.routerId());
                return;
            }
            load.peerSeen(e.routerId(), now);
            switch (e) {
                case LoadEvent.Routed r -> {
                    Handle h = byId.get(r.workerId());
                    if (h == null) return;
                    load.routed(r.routerId(), r.requestId(), h.slot, r.promptTokens(), r.cachedTokens());
                    if (r.approxBlockHashes().length > 0) indexer.recordRouted(r.workerId(), r.approxBlockHashes(), now);
                }
                case LoadEvent.FirstToken f -> load.firstToken(f.routerId(), f.requestId());
                case LoadEvent.Finished f -> load.finished(f.routerId(), f.requestId());
                case LoadEvent.Heartbeat hb -> { }
                case LoadEvent.Left l -> { }
            }
        } finally {
            lock.unlock();
        }
        dispatchWaiting();
    }

    /** Queues a load event for the replicas (none without a bus: a single router publishes nothing). */
    private void publish(LoadEvent e) {
        if (bus != LoadBus.NONE) outbox.add(e);
    }

    /** Publishes queued load events in order; whichever thread holds the flush lock drains for everyone. */
    private void flushOutbox() {
        while (!outbox.isEmpty()) {
            if (!flushLock.tryLock()) return;
            try {
                for (LoadEvent e; (e = outbox.poll()) != null; ) {
                    try {
                        bus.publish(e);
                    } catch (RuntimeException ex) {
                        LOG.fine(() -> "publishing a load event failed: " + ex);
                    }
                }
            } finally {
                flushLock.unlock();
            }
        }
    }

    // ---------------------------------------------------------------- introspection

    /** A consistent snapshot of the router's counters. */
    public RouterStats routerStats() {
        lock.lock();
        try {
            return new RouterStats(policy.name(), workers.size(), decisions, routedPromptTokens, predictedHitTokens,
                    reportedPromptTokens, reportedHitTokens, indexer.entries(), indexer.uniqueBlocks(), indexer.eventsApplied(),
                    indexer.eventsDuplicate(), indexer.gaps(), indexer.snapshotsApplied(), load.trackedRequests(), waiting.size(), waitedTotal,
                    waitTimeouts, releasedNewestFirst);
        } finally {
            lock.unlock();
        }
    }

    /** Bytes the KV index's structures hold (for the memory benchmark). */
    public long indexFootprintBytes() {
        lock.lock();
        try {
            return indexer.footprintBytes();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of {@link #indexFootprintBytes} that lie off the Java heap (the index's hash tables). */
    public long indexOffHeapBytes() {
        lock.lock();
        try {
            return indexer.offHeapBytes();
        } finally {
            lock.unlock();
        }
    }

    /** The hashes the index holds for a worker, sorted (for tests comparing replicas). */
    public long[] indexedHashes(String workerId) {
        lock.lock();
        try {
            return indexer.heldHashes(workerId);
        } finally {
            lock.unlock();
        }
    }

    /** The load the router sees on a worker: requests, prefill tokens, context tokens (for tests and diagnostics). */
    public long[] loadOf(String workerId) {
        lock.lock();
        try {
            Handle h = byId.get(workerId);
            if (h == null) return null;
            return new long[] {load.activeRequests(h.slot), load.prefillTokens(h.slot), load.contextTokens(h.slot)};
        } finally {
            lock.unlock();
        }
    }

    /** Whether an exact worker's cache is partly unknown (its snapshot was incomplete), so it is also routed approximately. */
    public boolean kvUncertain(String workerId) {
        lock.lock();
        try {
            return indexer.uncertain(workerId);
        } finally {
            lock.unlock();
        }
    }

    /** Whether a worker is waiting for a KV snapshot. */
    public boolean resyncing(String workerId) {
        lock.lock();
        try {
            return indexer.resyncing(workerId);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Blocks counted as held by a worker because prompts were routed there and its KV events have not stored them yet
     * (see {@link KvIndexer#recordPending}), for tests and diagnostics.
     */
    public int pendingBlocks(String workerId) {
        lock.lock();
        try {
            return indexer.pendingBlocks(workerId);
        } finally {
            lock.unlock();
        }
    }

    /** Follows one request's stream: first token (prefill done), end (load released, hits counted). */
    private final class RoutedStream implements GenerationStream {
        private final GenerationStream inner;
        private final String requestId;
        private boolean firstSeen;
        private boolean ended;

        RoutedStream(GenerationStream inner, String requestId) {
            this.inner = inner;
            this.requestId = requestId;
        }

        @Override
        public String requestId() {
            return inner.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            GenerateOutput out;
            try {
                out = inner.next();
            } catch (InterruptedException | RuntimeException e) {
                end(null);
                throw e;
            }
            if (out == null) {
                end(null);
                return null;
            }
            if (!firstSeen && (out.tokenIds().length > 0 || out.finished())) {
                firstSeen = true;
                if (!out.finished()) firstToken(requestId);
            }
            if (out.finished()) end(out.usage());
            return out;
        }

        @Override
        public void close() {
            try {
                inner.close();
            } finally {
                end(null);
            }
        }

        private void end(Usage usage) {
            if (ended) return;
            ended = true;
            owners.remove(requestId);
            finished(requestId, usage);
        }
    }
}
