package ai.armature.sim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import ai.armature.planner.signal.TrafficMeter;
import ai.armature.protocol.TrafficCounters;
import ai.armature.router.Router;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

/**
 * The simulated workers of one run and their registration with the router: workers join (and, for a planner,
 * drain and leave) at any virtual time. Each publishes its KV events to the router at the end of its steps, offers
 * its block manager's snapshot after a gap, and has its traffic counted (the planner's input) by a
 * {@link TrafficMeter} on virtual time. The pool also keeps each worker's provisioned time, from when it was asked
 * for (its start-up counts: the machine is paid for meanwhile) to when it stopped. Single-threaded, like the event
 * loop.
 */
public final class WorkerPool {

    private final MockProfile profile;
    private final ServingConfig config;
    private final EventLoop loop;
    private final Router router;
    private final SimWorker.Listener listener;
    private final SimKvTransfers transfers;
    private final Map<String, SimWorker> workers = new LinkedHashMap<>();
    private final Map<String, SimWorker> draining = new LinkedHashMap<>();
    private final Map<String, TrafficMeter> meters = new HashMap<>();
    private final List<SimWorker> everJoined = new ArrayList<>();
    /** Per worker id: {asked-for time, stop time or NaN} in seconds. */
    private final Map<String, double[]> provisioned = new LinkedHashMap<>();
    private int nextId;

    WorkerPool(MockProfile profile, ServingConfig config, EventLoop loop, Router router, SimWorker.Listener listener) {
        this(profile, config, loop, router, listener, null);
    }

    /** @param transfers KV transfers between the workers (disaggregated runs), or null */
    WorkerPool(MockProfile profile, ServingConfig config, EventLoop loop, Router router, SimWorker.Listener listener, SimKvTransfers transfers) {
        this.transfers = transfers;
        this.profile = profile;
        this.config = config;
        this.loop = loop;
        this.router = router;
        this.listener = listener;
    }

    /** Starts a worker now and registers it with the router; returns its id. */
    public String add(WorkerRole role) {
        String id = reserveId();
        add(role, id);
        return id;
    }

    /** An id for a worker asked for now (that serves later, or never if cancelled); its provisioned time starts. */
    String reserveId() {
        String id = "worker-" + nextId++;
        provisioned.put(id, new double[] {loop.now() / 1e9, Double.NaN});
        return id;
    }

    /** Starts the worker reserved as {@code id} and registers it with the router. */
    void add(WorkerRole role, String id) {
        SimWorker w = new SimWorker(id, profile, config, loop, listener, transfers, this::peer);
        TrafficMeter meter = new TrafficMeter(w, loop::now);
        workers.put(id, w);
        meters.put(id, meter);
        everJoined.add(w);
        router.addWorker(new WorkerEndpoint(id, config.blockSize(), w.kvNamespace(), true, role, meter,
                () -> CompletableFuture.completedFuture(w.core().kvSnapshot())));
    }

    /** Removes a worker from the router (it finishes nothing more: use only on idle workers). */
    public void remove(String id) {
        SimWorker w = workers.remove(id);
        if (w == null) return;
        router.removeWorker(id);
        w.close();
        stopped(id);
    }

    /**
     * Drains a worker: the router sends it nothing more, it finishes what it runs, then {@code whenIdle} runs (the
     * caller then {@link #stop}s it). Returns false if it is not serving.
     */
    boolean drain(String id, Runnable whenIdle) {
        SimWorker w = workers.remove(id);
        if (w == null) return false;
        router.removeWorker(id);
        draining.put(id, w);
        w.whenIdle(whenIdle);
        return true;
    }

    /** Stops a drained (or cancelled, never started) worker: its provisioned time ends now. */
    void stop(String id) {
        SimWorker w = draining.remove(id);
        if (w != null) w.close();
        stopped(id);
    }

    private void stopped(String id) {
        double[] t = provisioned.get(id);
        if (t != null && Double.isNaN(t[1])) t[1] = loop.now() / 1e9;
    }

    /** A worker serving or draining, by id, or null. */
    private SimWorker peer(String id) {
        SimWorker w = workers.get(id);
        return w != null ? w : draining.get(id);
    }

    /** A draining worker, or null. */
    SimWorker drainingWorker(String id) {
        return draining.get(id);
    }

    /** The traffic counts of every worker serving or draining. */
    Map<String, TrafficCounters> traffic() {
        Map<String, TrafficCounters> out = new HashMap<>();
        for (String id : workers.keySet()) out.put(id, meters.get(id).snapshot());
        for (String id : draining.keySet()) out.put(id, meters.get(id).snapshot());
        return out;
    }

    /** Worker-seconds provisioned up to {@code endSeconds} (workers still up count until then). */
    double workerSeconds(double endSeconds) {
        double total = 0;
        for (double[] t : provisioned.values()) total += Math.max(0, (Double.isNaN(t[1]) ? endSeconds : Math.min(t[1], endSeconds)) - t[0]);
        return total;
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
