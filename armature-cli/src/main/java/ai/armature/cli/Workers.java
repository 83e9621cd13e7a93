package ai.armature.cli;

import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
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

    private static String id(int i) {
        return "worker-" + i;
    }
}
