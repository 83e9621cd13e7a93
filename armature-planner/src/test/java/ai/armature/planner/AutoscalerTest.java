package ai.armature.planner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.armature.planner.connector.Connector;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;

class AutoscalerTest {

    /** Names workers w1, w2, ... (or placeholders) and records what it was asked. */
    static final class FakeConnector implements Connector {
        Listener listener;
        boolean placeholders;
        int next;
        final List<String> started = new ArrayList<>();
        final List<String> stopped = new ArrayList<>();

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public void listen(Listener l) {
            listener = l;
        }

        @Override
        public List<String> start(Pool pool, int count) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < count; i++) ids.add(placeholders ? Autoscaler.placeholder(pool, ++next) : "w" + ++next);
            started.addAll(ids);
            return ids;
        }

        @Override
        public void stop(Pool pool, String workerId, boolean serving) {
            stopped.add(workerId + (serving ? ":drain" : ":cancel"));
        }

        @Override
        public void close() {
        }
    }

    /** Returns the target it is given (-1: hold), and records what it observed. */
    static final class Scripted implements ScalingPolicy {
        int target = -1;
        final List<PoolObservation> seen = new ArrayList<>();

        @Override
        public String name() {
            return "scripted";
        }

        @Override
        public Decision decide(double now, PoolObservation obs, PoolFleet fleet) {
            seen.add(obs);
            return new Decision(obs.pool(), now, fleet.capacity(), target < 0 ? fleet.capacity() : target, Decision.Reason.HOLD, 0, 0, null, null, obs);
        }

        /** What {@link #surge} answers (-1: nothing), and what it observed. */
        int surgeTarget = -1;
        final List<PoolObservation> checked = new ArrayList<>();

        @Override
        public Decision surge(double now, PoolObservation obs, PoolFleet fleet) {
            checked.add(obs);
            return surgeTarget < 0 ? null : new Decision(obs.pool(), now, fleet.capacity(), surgeTarget, Decision.Reason.SURGE, 0, 0, null, null, obs);
        }

        @Override
        public int workersForDemandAtZero(Pool pool) {
            return 2;
        }
    }

    static final class Signals implements Autoscaler.Signals {
        final Map<String, TrafficCounters> traffic = new HashMap<>();
        final Map<String, EngineStats> loads = new HashMap<>();
        int held;

        @Override
        public Map<String, TrafficCounters> traffic() {
            return traffic;
        }

        @Override
        public Map<String, EngineStats> loads() {
            return loads;
        }

        @Override
        public int held(Pool pool) {
            return held;
        }
    }

    static TrafficCounters requests(long n) {
        return new TrafficCounters(n, 100 * n, 10000.0 * n, 0, 0, 0, 0, new long[41], 0, 0, 0, 0, 0, 0, 0, new long[41]);
    }

    static EngineStats inFlight(int running) {
        return new EngineStats(0, running, 100, running, 0, 0, 0);
    }

    final FakeConnector connector = new FakeConnector();
    final Scripted policy = new Scripted();
    final Autoscaler scaler = new Autoscaler(policy, connector, PlannerConfig.defaults().withWarmup(30).withInterval(10),
            List.of(Pool.AGGREGATED), 300);
    final Signals signals = new Signals();

    @Test
    void startsCountAsCapacityUntilTheyRegisterAndScaleDownStopsTheLeastBusyFirst() {
        policy.target = 3;
        scaler.tick(10, signals);
        assertThat(connector.started).containsExactly("w1", "w2", "w3");
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(0, 3, 0));
        scaler.tick(20, signals);
        assertThat(connector.started).as("no second start for the same target").hasSize(3);
        scaler.registered("w1", Pool.AGGREGATED, 25);
        scaler.registered("w2", Pool.AGGREGATED, 25);
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(2, 1, 0));

        signals.loads.put("w1", inFlight(5));
        signals.loads.put("w2", inFlight(1));
        policy.target = 1;
        scaler.tick(30, signals);
        assertThat(connector.stopped).as("the starting one is cancelled, then the least busy drains").containsExactly("w3:cancel", "w2:drain");
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(1, 0, 2));
        assertThat(scaler.state("w2")).isEqualTo(Autoscaler.State.DRAINING);
        scaler.deregistered("w2");
        assertThat(scaler.state("w2")).as("draining until it exits").isEqualTo(Autoscaler.State.DRAINING);
        connector.listener.exited("w2");
        connector.listener.exited("w3");
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(1, 0, 0));
        assertThat(scaler.scaleEvents()).isEqualTo(5);
    }

    @Test
    void aHeldRequestAtZeroStartsWorkersAtOnce() {
        assertThat(scaler.demand(Pool.AGGREGATED, 1)).isEqualTo(2);
        assertThat(connector.started).containsExactly("w1", "w2");
        assertThat(scaler.demand(Pool.AGGREGATED, 2)).as("already starting").isZero();
        assertThat(scaler.decisions().getFirst().reason()).isEqualTo(Decision.Reason.DEMAND_AT_ZERO);
    }

    @Test
    void aWorkerThatNeverRegistersIsCancelled() {
        policy.target = 1;
        scaler.tick(10, signals);
        scaler.tick(400, signals);
        assertThat(connector.stopped).contains("w1:cancel");
    }

    @Test
    void placeholdersAreTakenByTheFirstUnknownWorkersOfThePool() {
        connector.placeholders = true;
        policy.target = 2;
        scaler.tick(10, signals);
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(0, 2, 0));
        scaler.registered("pod-abc", Pool.AGGREGATED, 20);
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(1, 1, 0));
        scaler.registered("pod-def", Pool.AGGREGATED, 20);
        scaler.registered("pod-xyz", Pool.AGGREGATED, 20);
        assertThat(scaler.fleet(Pool.AGGREGATED)).as("a third is someone else's, still capacity").isEqualTo(new PoolFleet(3, 0, 0));
    }

    @Test
    void theSurgeCheckSeesWhatArrivedSinceTheLastTickStartsWorkersAndNeverStopsAny() {
        scaler.registered("w0", Pool.AGGREGATED, 0);
        signals.traffic.put("w0", requests(10));
        assertThat(scaler.check(5, signals)).as("nothing before the first tick").isEmpty();
        scaler.tick(10, signals);
        signals.traffic.put("w0", requests(40));
        signals.held = 7;
        assertThat(scaler.check(12, signals)).isEmpty();
        PoolObservation o = policy.checked.getLast();
        assertThat(o.intervalSeconds()).isEqualTo(2);
        assertThat(o.arrivals()).as("admitted since the tick plus those now waiting").isEqualTo(37);
        policy.surgeTarget = 4;
        assertThat(scaler.check(13, signals)).extracting(Decision::reason).containsExactly(Decision.Reason.SURGE);
        assertThat(scaler.fleet(Pool.AGGREGATED)).isEqualTo(new PoolFleet(1, 3, 0));
        policy.surgeTarget = 1;
        assertThat(scaler.check(14, signals)).as("a smaller target is not applied").isEmpty();
        assertThat(connector.stopped).isEmpty();
        assertThat(scaler.check(20, signals)).as("the tick is due").isEmpty();
        // The tick's interval is still the whole one since the last tick: the checks moved no counter.
        scaler.tick(20, signals);
        assertThat(policy.seen.getLast().traffic().requests()).isEqualTo(30);
        assertThat(policy.seen.getLast().arrivals()).isEqualTo(37);
        assertThat(scaler.decisions()).extracting(Decision::reason).contains(Decision.Reason.SURGE);
    }

    @Test
    void trafficIsTheChangeSinceTheLastTickAndNewWorkersAreNotWarm() {
        scaler.registered("old", Pool.AGGREGATED, 0);
        signals.traffic.put("old", requests(10));
        scaler.tick(50, signals);
        scaler.registered("new", Pool.AGGREGATED, 55);
        signals.traffic.put("old", requests(25));
        signals.traffic.put("new", requests(4));
        scaler.tick(60, signals);
        PoolObservation o = policy.seen.getLast();
        assertThat(o.traffic().requests()).isEqualTo(19);
        assertThat(o.warmTraffic().requests()).isEqualTo(15);
        assertThat(o.warmWorkers()).isEqualTo(1);
        // A worker restarted under the same id: its counters went back; the new ones count from zero.
        signals.traffic.put("old", requests(3));
        signals.traffic.remove("new");
        scaler.tick(70, signals);
        assertThat(policy.seen.getLast().traffic().requests()).isEqualTo(3);
        // Warm once a whole interval lies past its 30 s of warm-up (it joined at 55 s): (70, 95] does not, (95, 105] does.
        signals.traffic.put("new", requests(10));
        scaler.tick(95, signals);
        assertThat(policy.seen.getLast().warmWorkers()).isEqualTo(1);
        scaler.tick(105, signals);
        assertThat(policy.seen.getLast().warmWorkers()).isEqualTo(2);
    }

    @Test
    void arrivalsAreTheAdmittedRequestsPlusTheChangeInThoseWaitingInFrontOfThePool() {
        scaler.registered("w", Pool.AGGREGATED, 0);
        signals.traffic.put("w", requests(10));
        scaler.tick(10, signals);
        assertThat(policy.seen.getLast().arrivals()).isEqualTo(10);
        // 30 more admitted while the router's queue grew from 0 to 120: 150 came.
        signals.traffic.put("w", requests(40));
        signals.held = 120;
        scaler.tick(20, signals);
        PoolObservation o = policy.seen.getLast();
        assertThat(o.startHeldRequests()).isZero();
        assertThat(o.heldRequests()).isEqualTo(120);
        assertThat(o.arrivals()).isEqualTo(150);
        // 200 admitted, 100 of them from the queue (down to 20): 100 came.
        signals.traffic.put("w", requests(240));
        signals.held = 20;
        scaler.tick(30, signals);
        o = policy.seen.getLast();
        assertThat(o.startHeldRequests()).isEqualTo(120);
        assertThat(o.arrivals()).isEqualTo(100);
        // The queue a level, not a rate: unchanged, and nothing admitted, nothing came.
        scaler.tick(40, signals);
        assertThat(policy.seen.getLast().arrivals()).isZero();
    }

    @Test
    void theBacklogAnIntervalBeganWithIsTheWarmWorkersLoadAtThePreviousTick() {
        scaler.registered("old", Pool.AGGREGATED, 0);
        scaler.registered("other", Pool.AGGREGATED, 0);
        signals.loads.put("old", new EngineStats(7, 2, 100, 50, 0, 0, 0, 14_000, 0));
        signals.loads.put("other", new EngineStats(1, 2, 100, 50, 0, 0, 0, 2_000, 0));
        scaler.tick(50, signals);
        assertThat(policy.seen.getLast().startPendingPrefillTokens()).as("nothing known before the first tick").isZero();
        // A worker that joined meanwhile is not warm: its queue (migrated requests, say) is not counted.
        scaler.registered("new", Pool.AGGREGATED, 55);
        signals.loads.put("new", new EngineStats(40, 0, 100, 0, 0, 0, 0, 80_000, 0));
        signals.loads.put("old", new EngineStats(0, 2, 100, 50, 0, 0, 0, 0, 0));
        scaler.tick(60, signals);
        PoolObservation o = policy.seen.getLast();
        assertThat(o.startWaitingRequests()).as("the most waiting on one warm worker at 50 s").isEqualTo(7);
        assertThat(o.startPendingPrefillTokens()).isEqualTo(14_000);
        assertThat(o.waitingPerWorker()).as("now").isCloseTo((0 + 1 + 40) / 3.0, org.assertj.core.api.Assertions.within(1e-9));
        scaler.tick(70, signals);
        assertThat(policy.seen.getLast().startPendingPrefillTokens()).as("old's queue cleared by 60 s").isEqualTo(2_000);
    }
}
