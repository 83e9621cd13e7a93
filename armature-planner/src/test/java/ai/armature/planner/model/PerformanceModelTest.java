package ai.armature.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;

import org.junit.jupiter.api.Test;

import ai.armature.planner.profile.PerformanceProfile;
import ai.armature.planner.profile.Profiler;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

class PerformanceModelTest {

    /** Decode step = 5 ms + 0.1 ms per sequence + 1 us per (sequence x context token): linear, so interpolation is exact. */
    private static double linear(double b, double c) {
        return 5e-3 + b * 1e-4 + b * c * 1e-6;
    }

    private static PerformanceProfile linearProfile() {
        int[] batches = {1, 4, 16};
        int[] contexts = {100, 1000, 4000};
        double[][] itl = new double[3][3];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) itl[i][j] = linear(batches[i], contexts[j]);
        itl[2][2] = Double.NaN; // did not fit
        return new PerformanceProfile("t", "virtual", new PerformanceProfile.Limits(512, 16, 16, 50_000, 8192),
                List.of(new PerformanceProfile.PrefillPoint(100, 0.01), new PerformanceProfile.PrefillPoint(1000, 0.05),
                        new PerformanceProfile.PrefillPoint(2000, 0.12)),
                new PerformanceProfile.DecodeGrid(batches, contexts, itl));
    }

    @Test
    void prefillIsPiecewiseLinearWithAFloorAndExtrapolation() {
        PerformanceModel m = new PerformanceModel(linearProfile());
        assertThat(m.prefillSeconds(100)).isEqualTo(0.01);
        assertThat(m.prefillSeconds(550)).isCloseTo(0.03, within(1e-12));
        assertThat(m.prefillSeconds(1500)).isCloseTo(0.085, within(1e-12));
        assertThat(m.prefillSeconds(3000)).as("extrapolated from the last two points").isCloseTo(0.19, within(1e-12));
        assertThat(m.prefillSeconds(10)).as("one step costs at least the first point").isEqualTo(0.01);
        // 1000 tokens of which 550 cached: the cost of the last 450 after the cached ones, at least 450 alone.
        assertThat(m.prefillSeconds(1000, 550)).isCloseTo(Math.max(0.05 - 0.03, m.prefillSeconds(450)), within(1e-12));
        assertThat(m.prefillSeconds(1000, 1000)).as("the last token is always computed").isEqualTo(0.01);
    }

    @Test
    void decodeIsExactForALinearEngineAndSkipsUnmeasuredCells() {
        PerformanceModel m = new PerformanceModel(linearProfile());
        for (double b : new double[] {1, 2, 4, 9, 16}) {
            for (double c : new double[] {100, 550, 1000, 2500, 4000}) {
                if (b > 4 && c > 1000) continue; // the column at 4000 has batches 1 and 4 only
                assertThat(m.decodeStepSeconds(b, c)).as("batch %s context %s", b, c).isCloseTo(linear(b, c), within(1e-12));
            }
        }
        // Batch 16 at 4000 tokens was not measured: extrapolated along that column from batches 1 and 4.
        assertThat(m.decodeStepSeconds(16, 4000)).isCloseTo(linear(16, 4000), within(1e-12));
        assertThat(m.decodeStepSeconds(32, 8000)).as("extrapolated in both").isCloseTo(linear(32, 8000), within(1e-9));
        assertThat(m.decodeStepSeconds(1, 10)).as("no cheaper than the first context").isEqualTo(linear(1, 100));
    }

    @Test
    void betweenGridPointsTheMockerIsCloseToItsFormula() {
        MockProfile h100 = MockProfile.H100_LLAMA3_8B;
        Profiler profiler = Profiler.mock(h100, ServingConfig.defaults());
        PerformanceProfile p = profiler.run(new Profiler.Sweep(new int[] {512, 1024, 2048, 4096}, new int[] {8, 16, 32, 64},
                new int[] {512, 1024, 2048}, 1, 1, 0), l -> { });
        profiler.close();
        PerformanceModel m = new PerformanceModel(p);
        // Decode: linear in batch x context above the weight-read floor, so interpolation is near exact.
        double b = 48, c = 1536;
        double formula = h100.stepSeconds((long) b, (long) (b * (c + 1)), (long) (b * (c + 1)));
        assertThat(m.decodeStepSeconds(b, c)).isCloseTo(formula, within(formula * 0.02));
        // Prefill: the attention term is quadratic, so linear interpolation overestimates a little between points.
        double at3000 = m.prefillSeconds(3000);
        assertThat(at3000).isBetween(0.0, 1.05 * chunked(h100, 3000, 512)).isGreaterThan(chunked(h100, 3000, 512));
    }

    private static double chunked(MockProfile p, int length, int budget) {
        double t = 0;
        for (int s = 0; s < length; s += budget) {
            int n = Math.min(budget, length - s);
            t += p.stepSeconds(n, (long) n * s + (long) n * (n + 1) / 2, s + n);
        }
        return t;
    }
}
