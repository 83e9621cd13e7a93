package ai.armature.cli;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.router.KvSnapshotSource;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.upstream.UpstreamConfig;
import ai.armature.upstream.UpstreamEngine;
import ai.armature.upstream.UpstreamKind;
import ai.armature.upstream.kv.KvEventDecoder;
import ai.armature.upstream.kv.KvEventTranslator;
import ai.armature.upstream.kv.ZmqKvEventSubscriber;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The upstream workers of {@code serve --upstream}: one {@link UpstreamEngine} per external engine behind one
 * {@link Router}. A worker is registered while its upstream is healthy and deregistered while it is not (its
 * requests in flight are failed and, with migration, resumed on another). With {@code --kv-events} the engine's
 * ZMQ events are translated into Armature's hashes and fed to the router's indexer (the translator answers the
 * router's snapshot requests); without, the router tracks it approximately.
 */
final class UpstreamWorkers implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(UpstreamWorkers.class.getName());

    private final Router router;
    private final List<UpstreamEngine> engines = new ArrayList<>();
    private final Map<String, KvEventTranslator> translators = new ConcurrentHashMap<>();
    private final List<ZmqKvEventSubscriber> subscribers = new ArrayList<>();

    /** @param kvEvents one ZMQ endpoint per config (same order), or empty for none */
    UpstreamWorkers(List<UpstreamConfig> configs, List<String> kvEvents, RouterConfig routerConfig) {
        this.router = new Router(routerConfig);
        for (int i = 0; i < configs.size(); i++) {
            UpstreamConfig c = configs.get(i);
            engines.add(new UpstreamEngine(c));
            if (kvEvents.isEmpty()) continue;
            KvEventTranslator t = new KvEventTranslator(c.workerId(), new BlockHasher(c.servedModelName()), c.blockSize());
            translators.put(c.workerId(), t);
            // Subscribed before the upstream is registered: the router ignores events of an unknown worker, then
            // resynchronises from the translator's snapshot when the worker joins (its first event id is past 1).
            subscribers.add(new ZmqKvEventSubscriber(kvEvents.get(i), decoder(c.kind()), t, evs -> router.onKvEvents(c.workerId(), evs)));
        }
    }

    /** The wire format an upstream kind's KV events follow. */
    static KvEventDecoder decoder(UpstreamKind kind) {
        return new KvEventDecoder(kind == UpstreamKind.SGLANG ? KvEventDecoder.Schema.SGLANG : KvEventDecoder.Schema.VLLM);
    }

    Router router() {
        return router;
    }

    List<UpstreamEngine> engines() {
        return engines;
    }

    /** Starts health checking; each upstream joins the router when it answers. */
    void start() {
        for (ZmqKvEventSubscriber s : subscribers) s.start();
        for (UpstreamEngine e : engines) e.start(new UpstreamEngine.Listener() {
            @Override
            public void healthy(UpstreamEngine engine) {
                register(engine);
            }

            @Override
            public void unhealthy(UpstreamEngine engine, String reason) {
                router.removeWorker(engine.workerId());
            }
        });
        router.startMaintenance(Duration.ofSeconds(1), true);
    }

    private void register(UpstreamEngine e) {
        UpstreamConfig c = e.config();
        router.removeWorker(c.workerId());
        KvEventTranslator t = translators.get(c.workerId());
        KvSnapshotSource snapshots = t == null ? null : () -> CompletableFuture.completedFuture(t.snapshot());
        router.addWorker(new WorkerEndpoint(c.workerId(), c.blockSize(), c.servedModelName(), t != null, WorkerRole.AGGREGATED, e, snapshots));
    }

    /**
     * Waits until at least one upstream answers, saying every {@code every} which are still unreachable; returns
     * false if none answered within {@code timeout}.
     */
    boolean awaitAny(Duration timeout, Duration every) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long nextReport = System.nanoTime() + every.toNanos();
        while (System.nanoTime() < deadline) {
            if (!router.workers().isEmpty()) return true;
            Thread.sleep(50);
            if (System.nanoTime() > nextReport) {
                nextReport += every.toNanos();
                for (UpstreamEngine e : engines) {
                    System.err.println("armature: waiting for upstream " + e.config().baseUrl() + ": " + e.lastProblem());
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        router.close(); // closes the registered engines
        for (UpstreamEngine e : engines) e.close();
        for (ZmqKvEventSubscriber s : subscribers) s.close();
        LOG.fine("upstream workers closed");
    }
}
