package ai.armature.cli;

import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.upstream.UpstreamConfig;
import ai.armature.upstream.UpstreamEngine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The upstream workers of {@code serve --upstream}: one {@link UpstreamEngine} per external engine behind one
 * {@link Router}. A worker is registered while its upstream is healthy and deregistered while it is not (its
 * requests in flight are failed and, with migration, resumed on another); without KV events the router tracks it
 * approximately.
 */
final class UpstreamWorkers implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(UpstreamWorkers.class.getName());

    private final Router router;
    private final List<UpstreamEngine> engines = new ArrayList<>();

    UpstreamWorkers(List<UpstreamConfig> configs, RouterConfig routerConfig) {
        this.router = new Router(routerConfig);
        for (UpstreamConfig c : configs) engines.add(new UpstreamEngine(c));
    }

    Router router() {
        return router;
    }

    List<UpstreamEngine> engines() {
        return engines;
    }

    /** Starts health checking; each upstream joins the router when it answers. */
    void start() {
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
        router.addWorker(new WorkerEndpoint(c.workerId(), c.blockSize(), c.servedModelName(), false, WorkerRole.AGGREGATED, e, null));
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
        LOG.fine("upstream workers closed");
    }
}
