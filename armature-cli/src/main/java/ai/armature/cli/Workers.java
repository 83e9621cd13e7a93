package ai.armature.cli;

import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.router.disagg.DisaggregatedRouter;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.serving.disagg.InProcessKvTransport;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;

import java.time.Duration;
import java.util.List;

/**
 * The in-process workers of {@code serve}: N serving engines built by {@link WorkerFactory}, behind a
 * {@link Router} when there is one: the workers publish their KV events to it in process, it fetches a worker's
 * snapshot on its engine thread after a gap, and it reads their load every second.
 */
final class Workers {

    private Workers() {
    }

    /** @param routerConfig null for no router (one worker only); else the router the workers are registered with */
    static GenerationEngine start(WorkerSpec spec, int count, RouterConfig routerConfig) {
        return start(spec, count, WorkerFactory.defaultThreadsPerWorker(count), routerConfig);
    }

    /** @param threadsPerWorker kernel threads of each worker's own pool (see {@link WorkerFactory#startAll}) */
    static GenerationEngine start(WorkerSpec spec, int count, int threadsPerWorker, RouterConfig routerConfig) {
        if (routerConfig == null) {
            if (count > 1) throw new IllegalArgumentException("more than one worker needs a router");
            return WorkerFactory.startAll(spec, 1, threadsPerWorker, i -> KvEventPublisher.NONE).getFirst();
        }
        Router router = new Router(routerConfig);
        List<ServingEngine> engines = WorkerFactory.startAll(spec, count, threadsPerWorker, i -> e -> router.onKvEvent(id(i), e));
        for (int i = 0; i < engines.size(); i++) {
            ServingEngine engine = engines.get(i);
            router.addWorker(new WorkerEndpoint(id(i), engine.blockSize(), engine.kvNamespace(), true, WorkerRole.AGGREGATED,
                    engine, engine::kvSnapshot));
        }
        router.startMaintenance(Duration.ofSeconds(1), true);
        return router;
    }

    /**
     * Disaggregated workers in one process: {@code prefill} prefill workers ({@code prefill-N}) and {@code decode}
     * decode workers ({@code decode-N}) sharing the machine's KV budget, registered with one router under their
     * roles, with an in-process KV transport between their pools; requests go through a {@link DisaggregatedRouter}
     * with {@code rule}. {@code metrics} hears placements and transfers.
     */
    static DisaggregatedRouter startDisaggregated(WorkerSpec spec, int prefill, int decode, int threadsPerWorker, RouterConfig routerConfig,
                                                  RemotePrefillRule rule, Duration transferTimeout, DisaggregationMetrics metrics) {
        return startDisaggregated(spec, prefill, decode, threadsPerWorker, routerConfig, rule, transferTimeout, metrics, t -> t);
    }

    /** As above, with the in-process transport wrapped by {@code transport} (tests inject faults there). */
    static DisaggregatedRouter startDisaggregated(WorkerSpec spec, int prefill, int decode, int threadsPerWorker, RouterConfig routerConfig,
                                                  RemotePrefillRule rule, Duration transferTimeout, DisaggregationMetrics metrics,
                                                  java.util.function.UnaryOperator<ai.armature.serving.disagg.KvTransport> transport) {
        if (prefill < 1 || decode < 1) throw new IllegalArgumentException("--prefill-workers and --decode-workers must both be at least 1");
        Router router = new Router(routerConfig);
        int count = prefill + decode;
        String[] ids = new String[count];
        for (int i = 0; i < count; i++) ids[i] = i < prefill ? "prefill-" + i : "decode-" + (i - prefill);
        List<ServingEngine> engines = WorkerFactory.startAll(spec, count, threadsPerWorker, i -> e -> router.onKvEvent(ids[i], e));
        InProcessKvTransport local = new InProcessKvTransport();
        ai.armature.serving.disagg.KvTransport used = transport.apply(local);
        try {
            for (int i = 0; i < count; i++) {
                ServingEngine engine = engines.get(i);
                engine.enableKvTransfer(used, transferTimeout, metrics);
                local.register(ids[i], engine);
                router.addWorker(new WorkerEndpoint(ids[i], engine.blockSize(), engine.kvNamespace(), true,
                        i < prefill ? WorkerRole.PREFILL : WorkerRole.DECODE, engine, engine::kvSnapshot));
            }
        } catch (RuntimeException e) {
            engines.forEach(ServingEngine::close);
            router.close();
            throw e;
        }
        router.startMaintenance(Duration.ofSeconds(1), true);
        return new DisaggregatedRouter(router, rule, id -> "", metrics);
    }

    private static String id(int i) {
        return "worker-" + i;
    }
}
