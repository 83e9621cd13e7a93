package ai.armature.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import ai.armature.planner.Pool;
import ai.armature.planner.connector.Connector;
import ai.armature.router.WorkerRole;

/**
 * The planner's connector inside a simulation ({@code virtual}): a started worker is provisioned at once and
 * serves {@code startupSeconds} of virtual time later (it then registers with the router, and {@code serving}
 * hears of it). Stopping a serving worker drains it: the router sends it nothing more, it finishes its requests and
 * stops; past {@code drainTimeoutSeconds} the requests it still has are handed back ({@code handBack}) for the
 * simulation to migrate, as a real worker's frontend would. Cancelling a starting worker stops it before it serves.
 */
final class VirtualConnector implements Connector {

    /** What the simulation does when a worker serves, and with requests handed back. */
    interface Hooks {
        void serving(String workerId, Pool pool);

        void handBack(String workerId);
    }

    private final EventLoop loop;
    private final WorkerPool pool;
    private final long startupNanos;
    private final long drainTimeoutNanos;
    private final Hooks hooks;
    private final Map<String, Boolean> starting = new HashMap<>(); // id -> cancelled
    private Listener listener = id -> { };

    VirtualConnector(EventLoop loop, WorkerPool pool, double startupSeconds, double drainTimeoutSeconds, Hooks hooks) {
        this.loop = loop;
        this.pool = pool;
        this.startupNanos = Math.round(startupSeconds * 1e9);
        this.drainTimeoutNanos = Math.round(drainTimeoutSeconds * 1e9);
        this.hooks = Objects.requireNonNull(hooks);
    }

    @Override
    public String name() {
        return "virtual";
    }

    @Override
    public void listen(Listener l) {
        listener = l;
    }

    @Override
    public List<String> start(Pool p, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = pool.reserveId();
            starting.put(id, false);
            ids.add(id);
            loop.after(startupNanos, () -> {
                Boolean cancelled = starting.remove(id);
                if (cancelled == null || cancelled) return;
                pool.add(role(p), id);
                hooks.serving(id, p);
            });
        }
        return ids;
    }

    @Override
    public void stop(Pool p, String workerId, boolean serving) {
        if (starting.containsKey(workerId)) {
            starting.put(workerId, true);
            pool.stop(workerId);
            listener.exited(workerId);
            return;
        }
        boolean drains = pool.drain(workerId, () -> {
            pool.stop(workerId);
            listener.exited(workerId);
        });
        if (!drains) {
            listener.exited(workerId);
            return;
        }
        loop.after(drainTimeoutNanos, () -> {
            if (pool.drainingWorker(workerId) != null) hooks.handBack(workerId);
        });
    }

    private static WorkerRole role(Pool p) {
        return switch (p) {
            case AGGREGATED -> WorkerRole.AGGREGATED;
            case PREFILL -> WorkerRole.PREFILL;
            case DECODE -> WorkerRole.DECODE;
        };
    }

    @Override
    public void close() {
    }
}
