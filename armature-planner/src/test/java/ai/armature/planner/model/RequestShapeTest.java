package ai.armature.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.TrafficCounters;

class RequestShapeTest {

    /** {@code n} requests of {@code in} prompt tokens ({@code cached} of them from the cache) that generated {@code out} tokens. */
    static TrafficCounters interval(long n, long in, long cached, long out) {
        return new TrafficCounters(n, n * in, (double) n * in * in, n, n * in, n * cached, 0, new long[TrafficCounters.BUCKET_BOUNDS.length + 1],
                n, 0, n * out, (double) n * out * out, 0, 0, 0, new long[TrafficCounters.BUCKET_BOUNDS.length + 1]);
    }

    @Test
    void withoutRequestsTheShapeIsTheSmallestRequest() {
        RequestShape s = new RequestShape(0.9);
        assertThat(s.known()).isFalse();
        s.observe(TrafficCounters.ZERO);
        assertThat(s.known()).isFalse();
        Workload w = s.at(3);
        assertThat(w.requestRate()).isEqualTo(3);
        assertThat(w.inputTokens()).isEqualTo(1);
        assertThat(w.outputTokens()).isEqualTo(1);
        assertThat(w.inputTokensVariance()).isZero();
        assertThat(w.cachedFraction()).isZero();
    }

    @Test
    void theLongestPromptAnyWorkerReportedBoundsTheLengths() {
        RequestShape s = new RequestShape(0.5);
        long[] h = new long[TrafficCounters.BUCKET_BOUNDS.length + 1];
        s.observe(new TrafficCounters(2, 9000, 4.1e7, 0, 0, 0, 0, h, 0, 0, 0, 0, 0, 0, 0, h, 0, 0, 0, 5000));
        s.observe(new TrafficCounters(1, 1000, 1e6, 0, 0, 0, 0, h, 0, 0, 0, 0, 0, 0, 0, h, 0, 0, 0, 1000));
        assertThat(s.at(1).maxInputTokens()).as("a level, kept").isEqualTo(5000);
        assertThat(new RequestShape(0.5).at(1).maxInputTokens()).as("none seen: unbounded").isInfinite();
    }

    @Test
    void lengthsAreMomentsOverAllRequestsWithOlderIntervalsWeightedDown() {
        RequestShape s = new RequestShape(0.5);
        s.observe(interval(10, 1000, 500, 100));
        s.observe(interval(20, 4000, 0, 400));
        // Weights: the first interval's 10 requests count 5, the second's 20 count 20.
        double wa = 5, wb = 20, n = wa + wb;
        double mean = (wa * 1000 + wb * 4000) / n;
        double variance = (wa * 1000.0 * 1000 + wb * 4000.0 * 4000) / n - mean * mean;
        Workload w = s.at(1);
        assertThat(s.known()).isTrue();
        assertThat(w.inputTokens()).isCloseTo(mean, within(1e-9));
        assertThat(w.inputTokensVariance()).isCloseTo(variance, within(1e-6));
        assertThat(w.cachedFraction()).isCloseTo(wa * 500 / (wa * 1000 + wb * 4000), within(1e-12));
        double outMean = (wa * 100 + wb * 400) / n;
        assertThat(w.outputTokens()).isCloseTo(outMean, within(1e-9));
        assertThat(w.outputTokensVariance()).isCloseTo((wa * 100.0 * 100 + wb * 400.0 * 400) / n - outMean * outMean, within(1e-6));
        // An empty interval ages the evidence but keeps the shape.
        s.observe(TrafficCounters.ZERO);
        assertThat(s.at(1).inputTokens()).isCloseTo(mean, within(1e-9));
    }

    @Test
    void theDecayMustBeBelowOne() {
        assertThatThrownBy(() -> new RequestShape(1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RequestShape(-0.1)).isInstanceOf(IllegalArgumentException.class);
    }
}
