package ai.armature.cli;

import ai.armature.frontend.ServedModels;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.ModelCard;
import ai.armature.planner.signal.HoldingEngine;
import ai.armature.planner.signal.WaitingReporter;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.RouterMetrics;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.router.disagg.DisaggregatedRouter;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.runtime.discovery.DiscoveryListener;
import ai.armature.runtime.events.EventPlane;
import ai.armature.runtime.events.WorkerEventPublisher;
import ai.armature.runtime.events.WorkerEventsListener;
import ai.armature.runtime.migration.MigratingEngine;
import ai.armature.runtime.request.RemoteWorker;
import ai.armature.serving.worker.ModelTokenizer;
import ai.armature.serving.worker.TokenizerBundle;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * The models a frontend serves, as discovery reports their workers. Per served model name: a {@link Router} over
 * the model's workers (gRPC clients, {@link RemoteWorker}) fed with their KV events and load from the event
 * plane, {@link MigratingEngine} on top, and the tokenizer and chat template fetched once from the first worker's
 * request plane (checked against the hash in its card; never weights). A worker whose card names a different
 * tokenizer than its model's first worker is refused. A model with no reachable worker (its last one left, or
 * died and its lease has not expired yet) stays known but is not listed: its requests are refused (503), or with a
 * hold timeout wait ({@link HoldingEngine}, up to that long) for a worker, so the planner starts one (scale from
 * zero). The number held plus those waiting at the model's router while every worker is busy is published on the
 * event plane every second while some wait, and once when none does ({@link WaitingReporter}): the planner counts
 * them as demand. Discovery callbacks arrive on one thread; reads come from request threads.
 */
final class ClusterModels implements ServedModels, DiscoveryListener, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ClusterModels.class.getName());

    private final EventPlane events;
    private final RouterConfig routerConfig;
    private final RemoteWorker.Options workerOptions;
    private final int migrationLimit;
    private final Duration migrationWait;
    private final RemotePrefillRule rule;
    private final DisaggregatedRouter.Listener disaggregation;
    private final Map<String, Model> models = new ConcurrentHashMap<>();
    private final Map<String, RemoteWorker> workers = new ConcurrentHashMap<>();
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();
    private final RouterMetrics routerMetrics = new RouterMetrics(this::routersByModel);
    private volatile boolean closed;
    private final Duration holdTimeout;
    private final String frontendId = "frontend-" + java.util.HexFormat.of().toHexDigits(java.util.concurrent.ThreadLocalRandom.current().nextInt());
    private final java.util.concurrent.ScheduledExecutorService heldReports = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon(true).name("armature-held").unstarted(r));

    /** {@code rule} decides remote prefills for models with prefill and decode workers, {@code disaggregation} hears them. */
    ClusterModels(EventPlane events, RouterConfig routerConfig, RemoteWorker.Options workerOptions, int migrationLimit, Duration migrationWait,
                  Duration holdTimeout, RemotePrefillRule rule, DisaggregatedRouter.Listener disaggregation) {
        this.rule = rule;
        this.disaggregation = disaggregation;
        this.events = events;
        this.routerConfig = routerConfig;
        this.workerOptions = workerOptions;
        this.migrationLimit = migrationLimit;
        this.migrationWait = migrationWait;
        this.holdTimeout = holdTimeout;
        heldReports.scheduleAtFixedRate(() -> {
            for (Model m : models.values()) m.waiting.report();
        }, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** One served model: its router, migration and (once fetched) tokenizer. */
    private final class Model implements WorkerEventsListener {
        final String name;
        final String tokenizerSha256;
        final Router router;
        final HoldingEngine holding;
        final WorkerEventPublisher heldPublisher;
        /** Held requests and those waiting at the router: the planner's demand in front of the model's workers. */
        final WaitingReporter waiting;
        final MigratingEngine engine;
        final Set<String> workerIds = ConcurrentHashMap.newKeySet();
        final AutoCloseable subscription;
        volatile ServedModel served;
        volatile boolean loading;

        Model(String name, String tokenizerSha256) {
            this.name = name;
            this.tokenizerSha256 = tokenizerSha256;
            // Replicas (other frontends) share their load bookkeeping over the event plane.
            this.router = new Router(routerConfig, new EventPlaneLoadBus(events, name), System::nanoTime);
            router.startMaintenance(Duration.ofSeconds(1), false);
            routerMetrics.timeDecisions(name, router);
            this.heldPublisher = events.publisher(name, frontendId);
            this.waiting = new WaitingReporter(this::heldNow, () -> router.routerStats().waitingRequests(), heldPublisher::publishHeld);
            // Prefill and decode workers are used disaggregated; with only aggregated ones this is the router alone.
            DisaggregatedRouter disaggregated = new DisaggregatedRouter(router, rule, ClusterModels.this::requestEndpoint, disaggregation);
            // No hold timeout: a model without a worker is unavailable at once (503), as for a frontend without a planner.
            this.holding = holdTimeout.isZero() ? null
                    : new HoldingEngine(disaggregated, () -> !workerIds.isEmpty(), holdTimeout, n -> waiting.report());
            // Migration over the holding engine: a request handed back by the last worker waits for the next one too.
            this.engine = new MigratingEngine(holding == null ? disaggregated : holding, migrationLimit, migrationWait);
            this.subscription = events.subscribe(name, this);
        }

        /** Requests held now for want of a worker (none without a hold timeout). */
        private int heldNow() {
            return holding == null ? 0 : holding.held();
        }

        @Override
        public void kvEvents(String workerId, List<KvEvent> batch) {
            if (workerIds.contains(workerId)) router.onKvEvents(workerId, batch);
        }

        @Override
        public void load(String workerId, EngineStats load) {
            RemoteWorker w = workers.get(workerId);
            if (w == null || !workerIds.contains(workerId)) return;
            w.updateLoad(load);
            router.onLoad(workerId, load);
        }

        /**
         * Fetches the tokenizer in the background, from {@code first} and then, while that fails, from the model's other
         * workers (the first may be dead but not yet expired); the model is served once it is loaded.
         */
        void loadTokenizer(RemoteWorker first) {
            if (served != null || loading) return;
            loading = true;
            background.execute(() -> {
                try {
                    RemoteWorker from = first;
                    // One warning per worker that fails, then one every 10 s while the model stays unserved.
                    Set<String> warned = new java.util.HashSet<>();
                    long lastWarning = 0;
                    while (served == null && from != null && !closed) {
                        try {
                            ModelTokenizer t = TokenizerBundle.open(from.fetchTokenizer(), tokenizerSha256);
                            served = new ServedModel(name, engine, t.tokenizer(), t.chatTemplate(), from.card().contextLength());
                            RemoteWorker source = from;
                            LOG.info(() -> "serving model '" + name + "' (tokenizer " + tokenizerSha256.substring(0, 12) + " from worker "
                                    + source.workerId() + ")");
                        } catch (RuntimeException | java.io.IOException e) {
                            RemoteWorker failed = from;
                            long now = System.nanoTime();
                            if (warned.add(failed.workerId()) || now - lastWarning > java.util.concurrent.TimeUnit.SECONDS.toNanos(10)) {
                                lastWarning = now;
                                LOG.warning(() -> "cannot load the tokenizer of model '" + name + "' from worker " + failed.workerId() + ": "
                                        + e.getMessage() + "; the model is not served until a worker of it answers (retrying)");
                            }
                            Thread.sleep(500);
                            from = anotherWorker(failed);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    loading = false;
                }
            });
        }

        /** A worker of this model other than {@code not}, preferring reachable ones; {@code not} if it is the only one. */
        private RemoteWorker anotherWorker(RemoteWorker not) {
            RemoteWorker fallback = null;
            for (String id : workerIds) {
                RemoteWorker w = workers.get(id);
                if (w == null) continue;
                if (w != not && w.healthy()) return w;
                if (fallback == null || fallback == not) fallback = w;
            }
            return fallback;
        }
    }

    @Override
    public void workerUp(ModelCard card) {
        RemoteWorker known = workers.get(card.workerId());
        if (known != null) {
            if (known.card().equals(card)) {
                known.clearSuspicion(); // re-registered after an outage: it is alive
                return;
            }
            workerDown(card.workerId());
        }
        Model model = models.computeIfAbsent(card.servedModelName(), n -> new Model(n, card.tokenizerSha256()));
        if (!model.tokenizerSha256.equals(card.tokenizerSha256())) {
            LOG.warning(() -> "ignoring worker " + card.workerId() + ": it serves '" + card.servedModelName() + "' with tokenizer "
                    + card.tokenizerSha256() + ", but the model's other workers use " + model.tokenizerSha256);
            return;
        }
        WorkerRole role = switch (card.role()) {
            case ModelCard.ROLE_AGGREGATED -> WorkerRole.AGGREGATED;
            case ModelCard.ROLE_PREFILL -> WorkerRole.PREFILL;
            case ModelCard.ROLE_DECODE -> WorkerRole.DECODE;
            default -> null;
        };
        if (role == null) {
            LOG.warning(() -> "ignoring worker " + card.workerId() + ": its role '" + card.role() + "' is not aggregated, prefill or decode");
            return;
        }
        RemoteWorker remote = new RemoteWorker(card, workerOptions);
        workers.put(card.workerId(), remote);
        model.workerIds.add(card.workerId());
        model.router.addWorker(new WorkerEndpoint(card.workerId(), card.kvBlockSize(), card.modelId(), card.publishesKvEvents(),
                role, remote, () -> CompletableFuture.supplyAsync(remote::snapshot, background)));
        if (model.holding != null) model.holding.workerAvailable();
        LOG.info(() -> "worker " + card.workerId() + " (" + card.role() + ") joined model '" + card.servedModelName() + "' at " + card.requestEndpoint());
        model.loadTokenizer(remote);
    }

    /** Where a worker's request plane listens (the address decode workers fetch its held KV from), or "" if unknown. */
    private String requestEndpoint(String workerId) {
        RemoteWorker w = workers.get(workerId);
        return w == null ? "" : w.card().requestEndpoint();
    }

    @Override
    public void workerDown(String workerId) {
        RemoteWorker remote = workers.remove(workerId);
        if (remote == null) return;
        Model model = models.get(remote.card().servedModelName());
        if (model != null) {
            model.workerIds.remove(workerId);
            model.router.removeWorker(workerId);
        }
        remote.retire(); // requests running on it go on; no new ones
        LOG.info(() -> "worker " + workerId + " left model '" + remote.card().servedModelName() + "'");
    }

    @Override
    public List<ServedModel> listed() {
        List<ServedModel> list = new ArrayList<>();
        for (Model m : models.values()) {
            ServedModel s = m.served;
            if (s != null && m.workerIds.stream().map(workers::get).anyMatch(w -> w != null && w.healthy())) list.add(s);
        }
        list.sort(java.util.Comparator.comparing(ServedModel::name));
        return list;
    }

    @Override
    public ServedModel find(String name) {
        Model m = models.get(name);
        return m == null ? null : m.served;
    }

    /** Whether some model has a worker whose connection is up. */
    boolean anyWorkerReachable() {
        for (RemoteWorker w : workers.values()) if (w.healthy()) return true;
        return false;
    }

    /** The routers' metrics, by model (register them where /metrics is served). */
    RouterMetrics routerMetrics() {
        return routerMetrics;
    }

    /** Every known model's router, by name, sorted. */
    private Map<String, Router> routersByModel() {
        Map<String, Router> byModel = new java.util.TreeMap<>();
        for (Model m : models.values()) byModel.put(m.name, m.router);
        return byModel;
    }

    /** Requests migrated so far, over all models. */
    long migrations() {
        return models.values().stream().mapToLong(m -> m.engine.migrations()).sum();
    }

    @Override
    public void close() {
        closed = true;
        heldReports.shutdownNow();
        for (Model m : models.values()) {
            m.heldPublisher.close();
            try {
                m.subscription.close();
            } catch (Exception e) {
                // closing anyway
            }
            m.router.close();
        }
        for (RemoteWorker w : workers.values()) w.close();
        background.shutdownNow();
    }
}
