package ai.armature.sim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import ai.armature.router.Router;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

/**
 * The simulated workers of one run and their registration with the router: workers join (and, for a planner, may
 * leave) at any virtual time. Each publishes its KV events to the router at the end of its steps and offers its
 * block manager's snapshot after a gap. Single-threaded, like the event loop.
 */
public final class WorkerPool {

    private final MockProfile profile;
    private final ServingConfig config;
    private final EventLoop loop;
    private final Router router;
    private final SimWorker.Listener listener;
    private final Map<String, SimWorker> workers = new LinkedHashMap<>();
    private final List<SimWorker> everJoined = new ArrayList<>();
    private int nextId;

    WorkerPool(MockProfile profile, ServingConfig config, EventLoop loop, Router router, SimWorker.Listener listener) {
        this.profile = profile;
        this.config = config;
        this.loop = loop;
        this.router = router;
        this.listener = listener;
    }

    /** Starts a worker and registers it with the router; returns its id. */
    public String add(WorkerRole role) {
        String id = "worker-" + nextId++;
        SimWorker w = new SimWorker(id, profile, config, loop, listener);
        workers.put(id, w);
        everJoined.add(w);
        router.addWorker(new WorkerEndpoint(id, config.blockSize(), w.kvNamespace(), true, role, w,
                () -> CompletableFuture.completedFuture(w.core().kvSnapshot())));
        return id;
    }

    /** Removes a worker from the router (it finishes nothing more: use only on idle workers). */
    public void remove(String id) {
        SimWorker w = workers.remove(id);
        if (w == null) return;
        router.removeWorker(id);
        w.close();
    }

    /** The workers now in the pool, in the order they joined. */
    List<SimWorker> workers() {
        return Collections.unmodifiableList(new ArrayList<>(workers.values()));
    }

    /** Every worker that was ever in the pool (for end-of-run checks and per-worker load). */
    List<SimWorker> everJoined() {
        return Collections.unmodifiableList(everJoined);
    }

    public int size() {
        return workers.size();
    }
}
