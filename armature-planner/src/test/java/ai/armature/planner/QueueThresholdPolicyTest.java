package ai.armature.planner;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.TrafficCounters;

class QueueThresholdPolicyTest {

    static PoolObservation obs(double waiting, double kv, int held) {
        return new PoolObservation(Pool.AGGREGATED, 10, TrafficCounters.ZERO, TrafficCounters.ZERO, 1, held, 1, waiting, kv);
    }

    @Test
    void addsOneWhenRequestsWaitAndRemovesOneAfterCalmIntervals() {
        QueueThresholdPolicy p = new QueueThresholdPolicy(1, 5);
        assertThat(p.decide(10, obs(3, 0.5, 0), new PoolFleet(2, 0, 0)).target()).isEqualTo(3);
        assertThat(p.decide(20, obs(3, 0.5, 0), new PoolFleet(2, 1, 0)).target()).as("one at a time").isEqualTo(3);
        assertThat(p.decide(30, obs(0, 0.9, 0), new PoolFleet(3, 0, 0)).target()).as("full KV caches").isEqualTo(4);
        int t = 4;
        for (int i = 0; i < 2; i++) t = p.decide(40 + 10 * i, obs(0, 0.1, 0), new PoolFleet(t, 0, 0)).target();
        assertThat(t).as("not before three calm intervals").isEqualTo(4);
        t = p.decide(60, obs(0, 0.1, 0), new PoolFleet(t, 0, 0)).target();
        assertThat(t).isEqualTo(3);
        for (int i = 0; i < 20; i++) t = p.decide(70 + 10 * i, obs(0, 0, 0), new PoolFleet(t, 0, 0)).target();
        assertThat(t).isEqualTo(1);
        assertThat(p.decide(300, obs(9, 1, 0), new PoolFleet(5, 0, 0)).reason()).isEqualTo(Decision.Reason.AT_MAXIMUM);
    }

    @Test
    void requestsWaitingAtTheRouterQueueForThePoolLikeThoseOnTheWorkers() {
        QueueThresholdPolicy p = new QueueThresholdPolicy(1, 5);
        // Workers bounded by the router's wait have nothing waiting themselves; 6 wait at the router for 3 workers.
        assertThat(p.decide(10, obs(0, 0.5, 6), new PoolFleet(3, 0, 0)).target()).isEqualTo(4);
        assertThat(p.decide(20, obs(0, 0.5, 2), new PoolFleet(4, 0, 0)).target()).as("half a request per worker").isEqualTo(4);
        // Not calm while any wait there: no scale-down.
        int t = 4;
        for (int i = 0; i < 5; i++) t = p.decide(30 + 10 * i, obs(0, 0.1, 1), new PoolFleet(t, 0, 0)).target();
        assertThat(t).isEqualTo(4);
    }

    @Test
    void aHeldRequestAtZeroStartsAWorker() {
        QueueThresholdPolicy p = new QueueThresholdPolicy(0, 5);
        Decision d = p.decide(10, obs(0, 0, 1), new PoolFleet(0, 0, 0));
        assertThat(d.target()).isEqualTo(1);
        assertThat(d.reason()).isEqualTo(Decision.Reason.DEMAND_AT_ZERO);
    }
}
