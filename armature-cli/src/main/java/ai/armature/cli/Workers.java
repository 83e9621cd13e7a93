package ai.armature.cli;

import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;

import java.util.List;

/**
 * The in-process workers of {@code serve}: N serving engines built by {@link WorkerFactory}, behind a least-loaded
 * dispatcher when N > 1.
 */
final class Workers {

    private Workers() {
    }

    static GenerationEngine start(WorkerSpec spec, int count) {
        List<ServingEngine> engines = WorkerFactory.startAll(spec, count, i -> KvEventPublisher.NONE);
        return engines.size() == 1 ? engines.getFirst() : new LeastLoadedDispatcher(engines);
    }
}
