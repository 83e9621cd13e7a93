package ai.armature.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

import ai.armature.planner.Pool;

class LatencyModelTest {

    private final LatencyModel model = TestProfiles.model();

    @Test
    void erlangCAndTheNormalQuantileMatchKnownValues() {
        assertThat(LatencyModel.erlangC(1, 0.7)).isCloseTo(0.7, within(1e-12)); // M/M/1: P(wait) = rho
        assertThat(LatencyModel.erlangC(2, 1)).isCloseTo(1.0 / 3, within(1e-12));
        // M/M/10 at a = 8: 0.4092 (standard Erlang C tables)
        assertThat(LatencyModel.erlangC(10, 8)).isCloseTo(0.4092, within(1e-4));
        assertThat(LatencyModel.erlangC(1000, 900)).isBetween(0.0, 1.0);
        assertThat(LatencyModel.normalQuantile(0.975)).isCloseTo(1.959964, within(1e-6));
        assertThat(LatencyModel.normalQuantile(0.99)).isCloseTo(2.326348, within(1e-6));
        assertThat(LatencyModel.normalQuantile(0.9)).isCloseTo(1.281552, within(1e-6));
    }

    @Test
    void oneWorkerWithEqualPromptsIsPollaczekKhinchine() {
        // Prefill pool, equal prompts (cs^2 = 0): M/D/1, mean wait rho S / (2 (1 - rho)).
        double s = TestProfiles.prefill(1000);
        double rate = 0.6 / s;
        Estimate e = model.estimate(Pool.PREFILL, new Workload(rate, 1000, 0, 0, 100), 1, Corrections.NONE, 0.99);
        assertThat(e.feasible()).isTrue();
        assertThat(e.ttftMean()).isCloseTo(s + 0.6 * s / (2 * 0.4), within(1e-9));
        assertThat(e.utilization()).isCloseTo(0.6, within(1e-9));
        // P(W > t) = rho exp(-2 (1 - rho) t / S): the 99th percentile wait solves rho exp(...) = 0.01.
        assertThat(e.ttft()).isCloseTo(s + Math.log(0.6 / 0.01) * s / (2 * 0.4), within(1e-9));
        assertThat(e.itl()).isZero();
    }

    @Test
    void decodeBatchIsTheFixedPointOfLittlesLaw() {
        // At a fixed context the step is alpha + beta B, so B = r O (alpha + beta B) gives B = r O alpha / (1 - r O beta).
        double context = 2000 + 200 / 2.0;
        double alpha = 5e-3, beta = 1e-4 + 1e-9 * context;
        double r = 2, out = 200;
        Estimate e = model.estimate(Pool.DECODE, new Workload(3 * r, 2000, 0, 0, out), 3, Corrections.NONE, 0.99);
        double batch = r * out * alpha / (1 - r * out * beta);
        assertThat(e.batchPerWorker()).isCloseTo(batch, within(1e-6));
        assertThat(e.itlMean()).isCloseTo(TestProfiles.decode(batch, context), within(1e-9));
        double high = batch + LatencyModel.normalQuantile(0.99) * Math.sqrt(batch);
        assertThat(e.itl()).isCloseTo(TestProfiles.decode(high, context), within(1e-9));
        assertThat(e.ttft()).isZero();
    }

    @Test
    void aggregatedWorkersShareTheirTimeBetweenPhases() {
        Workload w = new Workload(4, 1000, 0, 0.5, 100);
        Estimate agg = model.estimate(Pool.AGGREGATED, w, 2, Corrections.NONE, 0.99);
        Estimate decodeOnly = model.estimate(Pool.DECODE, w, 2, Corrections.NONE, 0.99);
        Estimate prefillOnly = model.estimate(Pool.PREFILL, w, 2, Corrections.NONE, 0.99);
        assertThat(agg.itlMean()).isGreaterThan(decodeOnly.itlMean());
        assertThat(agg.ttftMean()).isGreaterThan(prefillOnly.ttftMean());
        // Half the prompt cached: the prefill time of the last 500 tokens after 500 cached ones.
        double s = Math.max(TestProfiles.prefill(1000) - TestProfiles.prefill(500), TestProfiles.prefill(500));
        assertThat(prefillOnly.ttftMean()).isGreaterThan(s).isLessThan(1.2 * s);
    }

    @Test
    void moreWorkersNeverPredictWorseAndTheSmallestPoolIsTheFirstThatMeets() {
        Slo slo = new Slo(0.1, 0.02, 0.99);
        for (Pool pool : Pool.values()) {
            for (double rate : new double[] {0.5, 5, 50, 400}) {
                Workload w = new Workload(rate, 3000, 3000.0 * 3000, 0.3, 300);
                double lastTtft = Double.POSITIVE_INFINITY, lastItl = Double.POSITIVE_INFINITY;
                int first = -1;
                for (int n = 1; n <= 200; n++) {
                    Estimate e = model.estimate(pool, w, n, Corrections.NONE, slo);
                    // (Up to the quantile bisection's resolution once the queue no longer matters.)
                    assertThat(e.ttft()).as("%s at %s req/s, %d workers", pool, rate, n).isLessThanOrEqualTo(lastTtft * (1 + 1e-9));
                    assertThat(e.itl()).isLessThanOrEqualTo(lastItl);
                    lastTtft = e.ttft();
                    lastItl = e.itl();
                    if (first < 0 && e.meets(slo)) first = n;
                }
                int expected = first < 0 ? 200 : first;
                assertThat(model.smallestPool(pool, w, slo, Corrections.NONE, 0, 200)).as("%s at %s req/s", pool, rate).isEqualTo(expected);
            }
        }
    }

    @Test
    void noTrafficNeedsTheMinimumAndTooMuchNeedsTheMaximum() {
        Slo slo = new Slo(0.5, 0.05, 0.99);
        assertThat(model.smallestPool(Pool.AGGREGATED, Workload.IDLE, slo, Corrections.NONE, 0, 10)).isZero();
        assertThat(model.smallestPool(Pool.AGGREGATED, Workload.IDLE, slo, Corrections.NONE, 2, 10)).isEqualTo(2);
        Workload flood = new Workload(1e6, 4000, 0, 0, 500);
        assertThat(model.smallestPool(Pool.AGGREGATED, flood, slo, Corrections.NONE, 0, 10)).isEqualTo(10);
        assertThat(model.estimate(Pool.AGGREGATED, flood, 10, Corrections.NONE, 0.99).feasible()).isFalse();
        assertThat(model.estimate(Pool.AGGREGATED, new Workload(1, 100, 0, 0, 10), 0, Corrections.NONE, 0.99).feasible()).isFalse();
    }

    @Test
    void promptLengthsKeepTheirMeanAndVarianceAndLongPromptsSetTheTtftTail() {
        Workload w = new Workload(1, 4000, 6000.0 * 6000, 0, 100);
        double[][] pts = LatencyModel.lengthPoints(w);
        double mean = 0, sq = 0, p = 0;
        for (double[] x : pts) {
            mean += x[1] * x[0];
            sq += x[1] * x[0] * x[0];
            p += x[1];
        }
        assertThat(p).isCloseTo(1, within(1e-12));
        assertThat(mean).isCloseTo(4000, within(4000 * 0.03));
        assertThat(Math.sqrt(sq - mean * mean)).isCloseTo(6000, within(6000 * 0.25));
        // At one request per second there is almost no queue: the 99th percentile TTFT is a long prompt's prefill.
        Estimate e = model.estimate(Pool.PREFILL, w, 50, Corrections.NONE, 0.99);
        assertThat(e.ttft()).isGreaterThan(TestProfiles.prefill(4000) * 3);
        // A target that 3% of prompts miss even alone: workers cannot fix those, so the pool stays small.
        double slo = TestProfiles.prefill(4000) * 2;
        int n = model.smallestPool(Pool.PREFILL, w, new Slo(slo, 1, 0.99), Corrections.NONE, 1, 500);
        assertThat(n).isLessThan(10);
    }

    @Test
    void promptLengthsStopAtTheLongestSeenAndTheContext() {
        Workload w = new Workload(1, 4000, 6000.0 * 6000, 0, 100, 0, 20000);
        double top = 0, topUncapped = 0;
        for (double[] x : LatencyModel.lengthPoints(w)) top = Math.max(top, x[0]);
        for (double[] x : LatencyModel.lengthPoints(4000, 6000.0 * 6000)) topUncapped = Math.max(topUncapped, x[0]);
        assertThat(top).isEqualTo(20000);
        assertThat(topUncapped).isGreaterThan(60000);
        // A target that a 25k-token prompt misses alone: none comes (20k is the longest), so none is given up as hopeless.
        Slo slo = new Slo(TestProfiles.prefill(25000), 1, 0.99);
        assertThat(model.estimate(Pool.PREFILL, w, 50, Corrections.NONE, slo).ttftFloorMiss()).isZero();
        assertThat(model.estimate(Pool.PREFILL, new Workload(1, 4000, 6000.0 * 6000, 0, 100, 0), 50, Corrections.NONE, slo).ttftFloorMiss())
                .as("uncapped, the lognormal's tail to the profile's 32768-token context").isPositive();
        Slo shorter = new Slo(TestProfiles.prefill(15000), 1, 0.99);
        assertThat(model.estimate(Pool.PREFILL, w, 50, Corrections.NONE, shorter).ttftFloorMiss()).isPositive();
        assertThat(new Workload(1, 4000, 0, 0, 100, 0, 0).maxInputTokens()).as("0: not known").isInfinite();
        assertThat(new Workload(1, 4000, 0, 0, 100, 0, 100).maxInputTokens()).as("never below the mean").isEqualTo(4000);
    }

    @Test
    void promptStepsCostTheProfiledPrefillPerTokenPlusWhatTheRidingDecodesAdd() {
        // A prefill pool: each 1000-token prompt alone, 2 ms + 20 us per token.
        double[] alone = model.promptStepSecondsPerToken(Pool.PREFILL, new Workload(3, 1000, 0, 0, 100), 2, Corrections.NONE);
        assertThat(alone[0]).isCloseTo(TestProfiles.prefill(1000) / 1000, within(1e-12));
        assertThat(alone[1]).isZero();
        // Half of each prompt cached: the 500 computed tokens cost what 500 tokens alone do (12 ms; more than the
        // 10 ms prefill(1000) - prefill(500), since the step's 2 ms is paid anyway).
        double[] half = model.promptStepSecondsPerToken(Pool.PREFILL, new Workload(3, 1000, 0, 0.5, 100), 2, Corrections.NONE);
        assertThat(half[0]).isCloseTo(12e-3 / 500, within(1e-12));

        // Aggregated: B sequences decode beside each chunk of 512 - B prompt tokens; they add their tokens at a full
        // chunk's cost per token and the context part of their step, 1 ns per sequence and context token past 64.
        Workload w = new Workload(4, 2000, 0, 0, 200);
        double b = model.estimate(Pool.AGGREGATED, w, 1, Corrections.NONE, 0.5).batchPerWorker();
        assertThat(b).isGreaterThan(1);
        double chunks = Math.ceil(2000 / (512 - b)), context = 2000 + 100;
        double[] agg = model.promptStepSecondsPerToken(Pool.AGGREGATED, w, 1, Corrections.NONE);
        assertThat(agg[0]).isCloseTo((TestProfiles.prefill(2000) + chunks * b * TestProfiles.prefill(512) / 512) / 2000, within(1e-12));
        assertThat(agg[1]).isCloseTo(chunks * 1e-9 * b * (context - 64) / 2000, within(1e-12));
        // The decode correction scales the attention part only.
        assertThat(model.promptStepSecondsPerToken(Pool.AGGREGATED, w, 1, new Corrections(1, 2))[1]).isCloseTo(
                2 * chunks * 1e-9 * model.estimate(Pool.AGGREGATED, w, 1, new Corrections(1, 2), 0.5).batchPerWorker() * (context - 64) / 2000,
                within(1e-12));
    }

    @Test
    void aSlowerWorkerNeedsMoreOfThem() {
        Slo slo = new Slo(0.3, 0.02, 0.99);
        Workload w = new Workload(30, 2000, 0, 0, 300);
        int normal = model.smallestPool(Pool.AGGREGATED, w, slo, Corrections.NONE, 0, 500);
        int slow = model.smallestPool(Pool.AGGREGATED, w, slo, new Corrections(2, 2), 0, 500);
        assertThat(slow).isGreaterThan(normal);
    }

    @Test
    void theKvCacheBoundsTheBatch() {
        LatencyModel small = new LatencyModel(new PerformanceModel(TestProfiles.linear(20_000)));
        // 20k tokens hold 10 sequences of 2000: at 40 sequences per worker the batch does not fit.
        Workload w = new Workload(40.0 / (300 * 0.01), 1900, 0, 0, 200);
        assertThat(small.estimate(Pool.DECODE, w, 1, Corrections.NONE, 0.99).feasible()).isFalse();
        assertThat(small.estimate(Pool.DECODE, w, 8, Corrections.NONE, 0.99).feasible()).isTrue();
    }
}
