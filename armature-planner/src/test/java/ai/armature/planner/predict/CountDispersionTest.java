package ai.armature.planner.predict;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;

import org.junit.jupiter.api.Test;

/** The index of dispersion on series whose answer is known: a ramp (0), Poisson counts (1), batches (E[X^2]/E[X]). */
class CountDispersionTest {

    /** Long memory, so that the estimate's own sampling noise is small against the tolerances. */
    static final double KEEP = 0.9999;
    static final int INTERVALS = 40_000;

    /** A Poisson variate by Knuth's product of uniforms (fine for the means used here). */
    static int poisson(Random r, double mean) {
        double limit = Math.exp(-mean), p = 1;
        int k = -1;
        do {
            k++;
            p *= r.nextDouble();
        } while (p > limit);
        return k;
    }

    @Test
    void aLinearRampIsNoNoise() {
        CountDispersion c = new CountDispersion(KEEP);
        for (int i = 0; i < 200; i++) c.observe(20 + 20 * i);
        assertThat(c.indexOfDispersion()).isCloseTo(0, within(1e-12));
        // Nothing to discount: a count off the forecast is load, whole.
        assertThat(c.load(500, 400)).isEqualTo(500);
    }

    @Test
    void poissonCountsHaveDispersionOneWithOrWithoutATrend() {
        Random r = new Random(17);
        CountDispersion flat = new CountDispersion(KEEP), rising = new CountDispersion(KEEP);
        for (int i = 0; i < INTERVALS; i++) {
            flat.observe(poisson(r, 30));
            rising.observe(poisson(r, 30 + 0.005 * i)); // 30 -> 230 per interval over the series
        }
        assertThat(flat.indexOfDispersion()).isCloseTo(1, within(0.08));
        assertThat(rising.indexOfDispersion()).isCloseTo(1, within(0.08));
    }

    @Test
    void requestsInBatchesHaveDispersionTheBatchSizesSecondMomentOverItsMean() {
        // Batches arrive as Poisson (8 an interval), each of 1..9 requests, uniform: E[X] = 5, E[X^2] = 285 / 9, so the
        // count's variance over its mean is E[X^2] / E[X] = 19 / 3.
        Random r = new Random(23);
        CountDispersion c = new CountDispersion(KEEP);
        for (int i = 0; i < INTERVALS; i++) {
            int batches = poisson(r, 8), count = 0;
            for (int b = 0; b < batches; b++) count += 1 + r.nextInt(9);
            c.observe(count);
        }
        assertThat(c.indexOfDispersion()).isCloseTo(19.0 / 3, within(0.5));
    }

    @Test
    void theDiscountWaitsForEvidenceAndShrinksOnlyWhatIsWithinTheNoise() {
        CountDispersion c = new CountDispersion(0.95);
        c.observe(100);
        c.observe(100);
        assertThat(c.indexOfDispersion()).isNaN();
        assertThat(c.load(150, 100)).as("no second difference yet").isEqualTo(150);
        // Counts alternating 100 +- 20: each second difference is +-80, against 6 Poisson variances of the three counts'
        // mean, 640 or 560, so D is between 6400 / 640 and 6400 / 560 once the first differences have decayed away.
        for (int i = 0; i < 400; i++) c.observe(i % 2 == 0 ? 120 : 80);
        double d = c.indexOfDispersion();
        assertThat(d).isBetween(10.0, 6400.0 / 560);
        // By hand: the deviation d shrunk by d^2 / (d^2 + D * expected), the evidence weight n / (n + 2) at n = 1 / (1 - 0.95).
        double weight = 20.0 / 22;
        for (double dev : new double[] {-30, 10, 20, 100, 400}) {
            double noise = weight * d * 100;
            assertThat(c.load(100 + dev, 100)).as("deviation %s", dev).isCloseTo(100 + dev * dev * dev / (dev * dev + noise), within(1e-3));
        }
        // A deviation well within the noise is mostly discounted, one far beyond it passes nearly whole.
        assertThat(c.load(110, 100) - 100).isLessThan(1);
        assertThat(c.load(500, 100) - 100).isGreaterThan(0.99 * 400);
        assertThat(c.load(100, Double.NaN)).isEqualTo(100);
    }

    @Test
    void badInputIsRefused() {
        assertThatThrownBy(() -> new CountDispersion(1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[0, 1)");
        assertThatThrownBy(() -> new CountDispersion(0.9).observe(-1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 0");
    }
}
