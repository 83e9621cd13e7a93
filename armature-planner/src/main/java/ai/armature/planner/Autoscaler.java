package ai.armature.planner;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;

import ai.armature.planner.connector.Connector;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;

/**
 * Runs a {@link ScalingPolicy} over the pools and applies its decisions through a {@link Connector}, keeping the
 * books of every worker: starting (asked for, not registered), serving (registered) or draining (asked to stop).
 * Every {@link #tick} it turns the workers' cumulative traffic counters into the interval's {@link PoolObservation}
 * (a worker's latencies count towards corrections only once it has served past its warm-up for a whole interval),
 * asks the policy, then starts workers or stops them: starting ones first, then the serving ones with the least
 * work in flight. Between ticks, {@link #check} lets the policy scale up at once on a surge. A worker that does not register within {@code startTimeoutSeconds} is cancelled. A request held
 * at a pool with no worker ({@link #demand}) starts one at once, without waiting for the next tick.
 *
 * <p>Single-threaded: the planner loop (or the simulation) calls every method from one thread.
 */
public final class Autoscaler {

    private static final Logger LOG = Logger.getLogger(Autoscaler.class.getName());
    /**
     * How often {@link #check} runs between ticks: a burst that begins just after a decision is otherwise seen a whole
     * interval later. One second is simulate's load-report period: a shorter one would mostly see nothing new there.
     */
    public static final double SURGE_CHECK_SECONDS = 1;

    /** What the autoscaler reads about the workers at each tick. */
    public interface Signals {
        /** The latest cumulative traffic counters of each worker that reported some (serving or draining). */
        Map<String, TrafficCounters> traffic();

        /** The latest load report of each serving worker. */
        Map<String, EngineStats> loads();

        /**
         * Requests waiting now in front of {@code pool}: held at the frontends because none of its workers serves, or
         * waiting at the routers because every one of its workers is busy ({@code --router-busy-prefill-tokens}).
         */
        int held(Pool pool);
    }

    /** A worker as the books know it. */
    public enum State { STARTING, SERVING, DRAINING }

    private static final class Member {
        final String id;
        final Pool pool;
        State state;
        final double startedAt;
        double servingSince = Double.NaN;

        Member(String id, Pool pool, State state, double at) {
            this.id = id;
            this.pool = pool;
            this.state = state;
            this.startedAt = at;
            if (state == State.SERVING) servingSince = at;
        }
    }

    private final ScalingPolicy policy;
    private final Connector connector;
    private final PlannerConfig config;
    private final List<Pool> pools;
    private final double startTimeoutSeconds;
    private final Map<String, Member> members = new LinkedHashMap<>();
    private final Map<String, TrafficCounters> lastTraffic = new HashMap<>();
    /** The load reports read at the previous tick: what the workers held when the interval now ending began. */
    private Map<String, EngineStats> lastLoads = Map.of();
    /** The requests waiting in front of each pool at the previous tick. */
    private final Map<Pool, Integer> lastHeld = new EnumMap<>(Pool.class);
    private final List<Decision> decisions = new ArrayList<>();
    private double lastTick = Double.NaN;
    private long scaleEvents;

    /**
     * @param pools               the pools to size (aggregated, or prefill and decode)
     * @param startTimeoutSeconds a started worker not registered after this long is cancelled
     */
    public Autoscaler(ScalingPolicy policy, Connector connector, PlannerConfig config, List<Pool> pools, double startTimeoutSeconds) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.connector = Objects.requireNonNull(connector, "connector");
        this.config = Objects.requireNonNull(config, "config");
        if (pools.isEmpty()) throw new IllegalArgumentException("the autoscaler needs at least one pool");
        this.pools = List.copyOf(pools);
        if (!(startTimeoutSeconds > 0)) throw new IllegalArgumentException("the start timeout must be > 0 seconds");
        this.startTimeoutSeconds = startTimeoutSeconds;
        connector.listen(this::exited);
    }

    public ScalingPolicy policy() {
        return policy;
    }

    /** Every decision so far, in order. */
    public List<Decision> decisions() {
        return List.copyOf(decisions);
    }

    /** Workers started or stopped so far (each start or stop of one worker is one event). */
    public long scaleEvents() {
        return scaleEvents;
    }

    /** The pool's workers by state now. */
    public PoolFleet fleet(Pool pool) {
        int serving = 0, starting = 0, draining = 0;
        for (Member m : members.values()) {
            if (m.pool != pool) continue;
            switch (m.state) {
                case SERVING -> serving++;
                case STARTING -> starting++;
                case DRAINING -> draining++;
            }
        }
        return new PoolFleet(serving, starting, draining);
    }

    /** The state of a worker, or null if unknown. */
    public State state(String workerId) {
        Member m = members.get(workerId);
        return m == null ? null : m.state;
    }

    /**
     * Worker {@code workerId} of {@code pool} registered (it serves). A worker the connector started under another
     * name (a placeholder) takes the place of the pool's oldest such starting one; one started by someone else is
     * counted too (but was never ours to stop, unless the policy removes it like any other).
     */
    public void registered(String workerId, Pool pool, double now) {
        Member m = members.get(workerId);
        if (m != null) {
            if (m.state == State.STARTING) {
                m.state = State.SERVING;
                m.servingSince = now;
            }
            return;
        }
        for (Iterator<Member> it = members.values().iterator(); it.hasNext(); ) {
            Member s = it.next();
            if (s.pool == pool && s.state == State.STARTING && isPlaceholder(s.id)) {
                it.remove();
                break;
            }
        }
        members.put(workerId, new Member(workerId, pool, State.SERVING, now));
    }

    /** Worker {@code workerId} deregistered: draining by our decision, or gone (it died, or drained on its own). */
    public void deregistered(String workerId) {
        Member m = members.get(workerId);
        if (m != null && m.state != State.DRAINING) members.remove(workerId);
    }

    /** The connector saw the worker exit. */
    private void exited(String workerId) {
        Member m = members.remove(workerId);
        if (m != null && m.state == State.STARTING) LOG.warning("planner: worker " + workerId + " exited before it served");
        lastTraffic.remove(workerId);
    }

    /**
     * A request waits at {@code pool}, which has no worker serving or starting: start the policy's number at once.
     * Returns how many were started.
     */
    public int demand(Pool pool, double now) {
        if (fleet(pool).capacity() > 0) return 0;
        int n = Math.min(policy.workersForDemandAtZero(pool), config.maxWorkers());
        start(pool, n, now);
        LOG.info("planner: " + pool.roleName() + " pool: a request waits and no worker serves: starting " + n);
        decisions.add(new Decision(pool, now, 0, n, Decision.Reason.DEMAND_AT_ZERO, Double.NaN, Double.NaN, null, null, null));
        return n;
    }

    /** One planning round: observe the interval that ended at {@code now}, decide per pool, apply. */
    public List<Decision> tick(double now, Signals signals) {
        double interval = Double.isNaN(lastTick) ? config.intervalSeconds() : Math.max(1e-9, now - lastTick);
        expireStarts(now);
        Map<String, EngineStats> loads = signals.loads();
        Map<Pool, PoolObservation> observed = observe(now, interval, signals, true);
        List<Decision> made = new ArrayList<>();
        for (Pool pool : pools) {
            Decision d = policy.decide(now, observed.get(pool), fleet(pool));
            apply(d, loads, now);
            made.add(d);
        }
        decisions.addAll(made);
        lastTick = now;
        lastLoads = Map.copyOf(loads);
        return made;
    }

    /**
     * The fast surge check, run every {@link #SURGE_CHECK_SECONDS} between ticks: the policy sees what arrived since
     * the last tick ({@link ScalingPolicy#surge}) and may start workers at once; it never stops any, and the books of
     * the interval (the counters the next tick reads its deltas from) are left as they are. Nothing before the first
     * tick, nor when a tick is due (within a millisecond of a whole interval after the last).
     */
    public List<Decision> check(double now, Signals signals) {
        if (Double.isNaN(lastTick)) return List.of();
        double elapsed = now - lastTick;
        if (elapsed < 1e-3 || elapsed > config.intervalSeconds() - 1e-3) return List.of();
        Map<Pool, PoolObservation> observed = observe(now, elapsed, signals, false);
        List<Decision> made = new ArrayList<>();
        for (Pool pool : pools) {
            PoolFleet fleet = fleet(pool);
            Decision d = policy.surge(now, observed.get(pool), fleet);
            if (d == null || d.target() <= fleet.capacity()) continue;
            start(pool, Math.min(d.target(), config.maxWorkers()) - fleet.capacity(), now);
            made.add(d);
        }
        decisions.addAll(made);
        return made;
    }

    /**
     * Each pool's observation of the {@code interval} seconds that end at {@code now}, from the workers' counters'
     * change since the last tick; {@code commit} makes these counters and waiting counts the base of the next one.
     */
    private Map<Pool, PoolObservation> observe(double now, double interval, Signals signals, boolean commit) {
        Map<String, TrafficCounters> traffic = signals.traffic();
        Map<String, EngineStats> loads = signals.loads();
        Map<Pool, TrafficCounters> all = new EnumMap<>(Pool.class), warm = new EnumMap<>(Pool.class);
        Map<Pool, Integer> warmCount = new EnumMap<>(Pool.class);
        for (var e : traffic.entrySet()) {
            Member m = members.get(e.getKey());
            TrafficCounters before = lastTraffic.getOrDefault(e.getKey(), TrafficCounters.ZERO);
            TrafficCounters delta = e.getValue().wentBackFrom(before) ? e.getValue() : e.getValue().minus(before);
            if (commit) lastTraffic.put(e.getKey(), e.getValue());
            if (m == null) continue;
            all.merge(m.pool, delta, TrafficCounters::plus);
            if (warm(m, now, interval)) {
                warm.merge(m.pool, delta, TrafficCounters::plus);
                warmCount.merge(m.pool, 1, Integer::sum);
            }
        }
        Map<Pool, PoolObservation> out = new EnumMap<>(Pool.class);
        for (Pool pool : pools) {
            double running = 0, waiting = 0, kv = 0;
            int reporting = 0, startWaiting = 0;
            long startPending = 0;
            for (Member m : members.values()) {
                if (m.pool != pool || m.state != State.SERVING) continue;
                EngineStats before = warm(m, now, interval) ? lastLoads.get(m.id) : null;
                if (before != null) {
                    startWaiting = Math.max(startWaiting, before.waitingRequests());
                    startPending = Math.max(startPending, before.pendingPrefillTokens());
                }
                EngineStats s = loads.get(m.id);
                if (s == null) continue;
                reporting++;
                running += s.runningRequests();
                waiting += s.waitingRequests();
                kv += s.kvBlocksTotal() == 0 ? 0 : (double) s.kvBlocksUsed() / s.kvBlocksTotal();
            }
            int n = Math.max(1, reporting);
            int held = Math.max(0, signals.held(pool));
            out.put(pool, new PoolObservation(pool, interval, all.getOrDefault(pool, TrafficCounters.ZERO),
                    warm.getOrDefault(pool, TrafficCounters.ZERO), warmCount.getOrDefault(pool, 0), held,
                    running / n, waiting / n, kv / n, startWaiting, startPending, lastHeld.getOrDefault(pool, 0)));
            if (commit) lastHeld.put(pool, held);
        }
        return out;
    }

    /** Whether a worker served, past its warm-up, for the whole interval that ends at {@code now}. */
    private boolean warm(Member m, double now, double interval) {
        return m.state == State.SERVING && m.servingSince <= now - interval - config.warmupSeconds() + 1e-9;
    }

    private void apply(Decision d, Map<String, EngineStats> loads, double now) {
        int change = d.target() - fleet(d.pool()).capacity();
        if (change > 0) start(d.pool(), change, now);
        else if (change < 0) remove(d.pool(), -change, loads);
    }

    private void start(Pool pool, int count, double now) {
        List<String> ids = connector.start(pool, count);
        for (String id : ids) members.put(id, new Member(id, pool, State.STARTING, now));
        scaleEvents += ids.size();
    }

    /** Removes {@code count} workers: starting ones (newest first), then serving ones with the least in flight. */
    private void remove(Pool pool, int count, Map<String, EngineStats> loads) {
        List<Member> candidates = new ArrayList<>();
        for (Member m : members.values()) if (m.pool == pool && m.state != State.DRAINING) candidates.add(m);
        candidates.sort(Comparator.<Member>comparingInt(m -> m.state == State.STARTING ? 0 : 1)
                .thenComparingLong(m -> inFlight(loads.get(m.id)))
                .thenComparing(Comparator.<Member>comparingDouble(m -> m.startedAt).reversed()));
        for (int i = 0; i < count && i < candidates.size(); i++) {
            Member m = candidates.get(i);
            boolean serving = m.state == State.SERVING;
            m.state = State.DRAINING;
            scaleEvents++;
            connector.stop(pool, m.id, serving);
        }
    }

    private static long inFlight(EngineStats s) {
        return s == null ? 0 : (long) s.runningRequests() + s.waitingRequests();
    }

    private void expireStarts(double now) {
        for (Member m : List.copyOf(members.values())) {
            if (m.state == State.STARTING && now - m.startedAt > startTimeoutSeconds) {
                LOG.warning(String.format("planner: worker %s did not register within %.0f s: cancelling it", m.id, startTimeoutSeconds));
                m.state = State.DRAINING;
                connector.stop(m.pool, m.id, false);
            }
        }
    }

    /** Placeholder ids stand for workers whose names the connector does not choose; they start with '#'. */
    public static String placeholder(Pool pool, long n) {
        return "#" + pool.roleName() + "-" + n;
    }

    static boolean isPlaceholder(String id) {
        return id.startsWith("#");
    }

    /** The ids of the workers in a state (for tests and reports). */
    public Set<String> workers(State state) {
        Set<String> out = new java.util.LinkedHashSet<>();
        for (Member m : members.values()) if (m.state == state) out.add(m.id);
        return out;
    }
}
