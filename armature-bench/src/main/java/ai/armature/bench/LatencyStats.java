package ai.armature.bench;

import org.HdrHistogram.Histogram;

/**
 * Distribution summary of one latency in seconds: exact mean, min and max, and percentiles from an HdrHistogram
 * of nanosecond samples at three significant digits. All fields are NaN when there were no samples.
 */
public record LatencyStats(long count, double mean, double p50, double p90, double p99, double min, double max) {

    /** The empty summary. */
    public static final LatencyStats EMPTY = new LatencyStats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, Double.NaN);

    /** Accumulates nanosecond samples. */
    public static final class Builder {
        private final Histogram histogram = new Histogram(3);
        private long count;
        private double sum;
        private long min = Long.MAX_VALUE;
        private long max = Long.MIN_VALUE;

        public void record(long nanos) {
            long v = Math.max(0, nanos);
            histogram.recordValue(v);
            count++;
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }

        public LatencyStats build() {
            if (count == 0) {
                return EMPTY;
            }
            return new LatencyStats(count, sum / count / 1e9, pct(50), pct(90), pct(99), min / 1e9, max / 1e9);
        }

        private double pct(double p) {
            return histogram.getValueAtPercentile(p) / 1e9;
        }
    }
}
