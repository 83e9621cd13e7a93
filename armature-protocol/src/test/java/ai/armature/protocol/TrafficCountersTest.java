package ai.armature.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TrafficCountersTest {

    private static final double ITL = 1.0 / 128;

    private static long[] hist(int bucket, long count) {
        long[] h = new long[TrafficCounters.BUCKET_BOUNDS.length + 1];
        h[bucket] = count;
        return h;
    }

    private static TrafficCounters sample(long n) {
        // Binary fractions (0.25 s, 1/128 s), so sums and differences are exact.
        return new TrafficCounters(n, 100 * n, 10000.0 * n, n, 100 * n, 25 * n, 0.25 * n, hist(TrafficCounters.bucketOf(0.25), n), n, 0, 50 * n,
                2500.0 * n, n, 49 * n, 49 * ITL * n, hist(TrafficCounters.bucketOf(ITL), n), 0.5 * n, 0.125 * n, 75 * n, 100);
    }

    @Test
    void busyTimeAddsUpAndTheLongestPromptIsALevel() {
        TrafficCounters a = sample(3), b = sample(10);
        assertThat(b.minus(a).busySeconds()).isEqualTo(3.5);
        assertThat(b.minus(a).promptStepSeconds()).isEqualTo(0.875);
        assertThat(b.minus(a).promptTokensComputed()).isEqualTo(525);
        assertThat(b.minus(a).maxPromptTokens()).isEqualTo(100);
        assertThat(a.promptSecondsPerToken()).isEqualTo(0.125 / 75);
        TrafficCounters longer = new TrafficCounters(1, 400, 160000, 0, 0, 0, 0, hist(0, 0), 0, 0, 0, 0, 0, 0, 0, hist(0, 0), 0, 0, 0, 400);
        assertThat(a.plus(longer).maxPromptTokens()).isEqualTo(400);
        assertThat(TrafficCounters.ZERO.reportsBusyTime()).isFalse();
        assertThat(TrafficCounters.ZERO.promptSecondsPerToken()).isNaN();
    }

    @Test
    void bucketsAreHalfOctavesFromOneMillisecond() {
        assertThat(TrafficCounters.BUCKET_BOUNDS[0]).isEqualTo(1e-3);
        assertThat(TrafficCounters.BUCKET_BOUNDS[2]).isCloseTo(2e-3, within(1e-15));
        assertThat(TrafficCounters.bucketOf(0)).isZero();
        assertThat(TrafficCounters.bucketOf(1e-3)).isZero();
        assertThat(TrafficCounters.bucketOf(1.5e-3)).isEqualTo(2);
        assertThat(TrafficCounters.bucketOf(1e6)).isEqualTo(TrafficCounters.BUCKET_BOUNDS.length);
    }

    @Test
    void differencesAndSumsAreExactAndMeansFollow() {
        TrafficCounters a = sample(3), b = sample(10);
        TrafficCounters d = b.minus(a);
        assertThat(d).isEqualTo(sample(7));
        assertThat(d.plus(a)).isEqualTo(b);
        assertThat(d.meanPromptTokens()).isEqualTo(100);
        assertThat(d.promptTokensVariance()).isZero();
        assertThat(d.cachedFraction()).isEqualTo(0.25);
        assertThat(d.meanOutputTokens()).isEqualTo(50);
        assertThat(d.outputTokensVariance()).isZero();
        assertThat(d.meanTtftSeconds()).isEqualTo(0.25);
        assertThat(d.meanItlSeconds()).isCloseTo(ITL, within(1e-15));
        assertThat(b.wentBackFrom(a)).isFalse();
        assertThat(a.wentBackFrom(b)).isTrue();
        assertThat(TrafficCounters.ZERO.meanTtftSeconds()).isNaN();
        assertThat(TrafficCounters.ZERO.ttftWithin(1)).isNaN();
    }

    @Test
    void sharesWithinATargetInterpolateInsideABucket() {
        TrafficCounters c = sample(4);
        int b = TrafficCounters.bucketOf(0.25);
        double lo = TrafficCounters.BUCKET_BOUNDS[b - 1], hi = TrafficCounters.BUCKET_BOUNDS[b];
        assertThat(c.ttftWithin(hi)).isEqualTo(1);
        assertThat(c.ttftWithin(lo)).isZero();
        assertThat(c.ttftWithin((lo + hi) / 2)).isCloseTo(0.5, within(1e-12));
        assertThat(c.itlWithin(1)).isEqualTo(1);
    }

    @Test
    void histogramsMustHaveTheSharedBuckets() {
        assertThatThrownBy(() -> new TrafficCounters(0, 0, 0, 0, 0, 0, 0, new long[3], 0, 0, 0, 0, 0, 0, 0, new long[3]))
                .hasMessageContaining("buckets");
    }
}
