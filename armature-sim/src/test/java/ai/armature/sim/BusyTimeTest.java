package ai.armature.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import ai.armature.planner.Decision;
import ai.armature.planner.PlannerConfig;
import ai.armature.planner.Pool;
import ai.armature.planner.PoolFleet;
import ai.armature.planner.PoolObservation;
import ai.armature.planner.ScalingPolicy;
import ai.armature.planner.SlaPlanner;
import ai.armature.planner.model.LatencyModel;
import ai.armature.protocol.TrafficCounters;
import ai.armature.router.RouterConfig;
import ai.armature.serving.mock.MockProfile;

/**
 * The prefill speed the SLA planner learns from the workers' busy time, on arrivals that come in batches (as the
 * Mooncake trace's do): the requests of a batch queue behind each other, so their time to first token holds the
 * queueing, which a fit to the mean TTFT reads as slow prefill; the busy time does not hold it.
 */
class BusyTimeTest {

    static final int PROMPT = 3000, BATCH = 8;

    /** Every 3 s a batch of 8 requests of 3000 fresh prompt tokens (no prefix-cache hits), 64 output tokens. */
    static final class Batches implements SimWorkload {
        final int batches;

        Batches(int batches) {
            this.batches = batches;
        }

        @Override
        public void start(Context ctx) {
            Random random = new Random(5);
            for (int b = 0; b < batches; b++) {
                for (int i = 0; i < BATCH; i++) {
                    int[] prompt = new int[PROMPT];
                    for (int j = 0; j < PROMPT; j++) prompt[j] = 10 + random.nextInt(100_000);
                    ctx.submit(new SimRequest("b" + b + "-" + i, prompt, 64, 1_000_000_000L + b * 3_000_000_000L));
                }
            }
        }

        @Override
        public long totalRequests() {
            return (long) batches * BATCH;
        }

        @Override
        public String describe() {
            return "batches";
        }
    }

    /** The SLA planner seeing the traffic without busy time, as from an engine that does not report it (the TTFT fit). */
    record WithoutBusyTime(SlaPlanner inner) implements ScalingPolicy {
        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public Decision decide(double now, PoolObservation o, PoolFleet fleet) {
            return inner.decide(now, new PoolObservation(o.pool(), o.intervalSeconds(), strip(o.traffic()), strip(o.warmTraffic()), o.warmWorkers(),
                    o.heldRequests(), o.runningPerWorker(), o.waitingPerWorker(), o.kvUsage(), o.startWaitingRequests(),
                    o.startPendingPrefillTokens(), o.startHeldRequests()), fleet);
        }

        @Override
        public int workersForDemandAtZero(Pool pool) {
            return inner.workersForDemandAtZero(pool);
        }

        static TrafficCounters strip(TrafficCounters t) {
            return new TrafficCounters(t.requests(), t.promptTokens(), t.promptTokensSquared(), t.firstTokens(), t.firstTokenPromptTokens(),
                    t.cachedPromptTokens(), t.ttftSeconds(), t.ttftHistogram(), t.finished(), t.failed(), t.outputTokens(), t.outputTokensSquared(),
                    t.decodedRequests(), t.decodeIntervals(), t.decodeSeconds(), t.itlHistogram());
        }
    }

    /** 2 workers throughout (the planner may not resize them), {@code batches} batches: its prefill correction after the run. */
    static double learnedPrefill(MockProfile workers, LatencyModel model, boolean busyTime, int batches) {
        PlannerConfig cfg = PlannedSimulationTest.config().withWorkers(2, 2);
        AtomicReference<SlaPlanner> planner = new AtomicReference<>();
        Simulation.Settings settings = new Simulation.Settings(2, workers, PlannedSimulationTest.SERVING,
                RouterConfig.defaults().withPolicy("kv").withRouterId("sim").withSeed(1), 1_000_000_000L, 0, 1);
        Simulation.Plan plan = new Simulation.Plan("sla", () -> {
            planner.set(new SlaPlanner(cfg, model));
            return busyTime ? planner.get() : new WithoutBusyTime(planner.get());
        }, cfg, 60);
        Simulation.Outcome o = new Simulation(settings, new Batches(batches), plan).run();
        assertThat(o.violations()).isEmpty();
        assertThat(o.result().completed()).isEqualTo((long) batches * BATCH);
        return planner.get().corrections(Pool.AGGREGATED).prefill();
    }

    /** Seconds the mocker takes for one prompt alone in chunks of the step budget (its formula; nothing else in the steps). */
    static double prefillAlone(MockProfile p, int prompt, int budget) {
        double seconds = 0;
        for (int start = 0; start < prompt; start += budget) {
            long c = Math.min(budget, prompt - start);
            seconds += p.stepSeconds(c, c * start + c * (c + 1) / 2, start + c);
        }
        return seconds;
    }

    @Test
    void batchedArrivalsDoNotReadAsSlowPrefillWhenTheWorkersReportTheirBusyTime() {
        LatencyModel model = PlannedSimulationTest.model();
        double busy = learnedPrefill(PlannedSimulationTest.PROFILE, model, true, 60);
        double ttft = learnedPrefill(PlannedSimulationTest.PROFILE, model, false, 60);
        // The profile is the workers' own: their prefill is exactly as profiled.
        assertThat(busy).isCloseTo(1, within(0.05));
        assertThat(ttft).as("the mean TTFT holds the batches' queueing").isGreaterThan(1.5);
    }

    @Test
    void workersSlowerThanProfiledAreLearnedFromTheirBusyTime() {
        MockProfile slow = MockProfile.parse("h100-llama3-8b,max_context=32768,kv_cache=4GiB,token_compute_us=50");
        int budget = PlannedSimulationTest.SERVING.maxBatchedTokens();
        double truth = prefillAlone(slow, PROMPT, budget) / prefillAlone(PlannedSimulationTest.PROFILE, PROMPT, budget);
        assertThat(truth).isBetween(1.3, 1.6);
        // An interval of 13 requests moves the correction 5% of the way (n / (n + 250)): 10 minutes to converge.
        assertThat(learnedPrefill(slow, PlannedSimulationTest.model(), true, 200)).isCloseTo(truth, within(0.05 * truth));
    }
}
