package ai.armature.planner.predict;

/**
 * How noisy a series of per-interval arrival counts is: its index of dispersion (variance over mean; 1 for Poisson
 * arrivals, E[X^2]/E[X] for requests that come in batches of X), and the part of a count's deviation from its
 * forecast that is load rather than that noise.
 *
 * <p>The variance is read from second differences, {@code n(t) - 2 n(t-1) + n(t-2)}, whose square is 6 variances of
 * independent counts and 0 on any linear trend: a ramp is not noise, and the estimate does not depend on how well a
 * predictor follows the series (fed with its own forecast errors, a discount that slows the forecast makes the
 * errors it then reads as noise larger). Each interval's square counts at most {@value #MAX_SAMPLE} times its
 * Poisson variance (a burst's step is a change of load, not a sample of the noise); the sums decay by
 * {@code keep} per interval. Not thread-safe.
 */
public final class CountDispersion {

    /** Most dispersion one interval's second difference adds: beyond it, the step is load, not noise. */
    static final double MAX_SAMPLE = 50;
    /**
     * Intervals' worth of evidence the discount waits for: the noise it assumes is the measured dispersion weighted by
     * {@code samples / (samples + EVIDENCE_INTERVALS)}, so none before the counts have shown any.
     */
    static final double EVIDENCE_INTERVALS = 2;

    private final double keep;
    private double older = Double.NaN, last = Double.NaN;
    private double squares, poissonVariance, samples;

    /** @param keep the weight earlier intervals keep per later interval, in [0, 1) */
    public CountDispersion(double keep) {
        if (!(keep >= 0 && keep < 1)) throw new IllegalArgumentException("the decay must be in [0, 1), got " + keep);
        this.keep = keep;
    }

    /** Records the count of the interval that just ended. */
    public void observe(double count) {
        if (!(count >= 0)) throw new IllegalArgumentException("a count is >= 0, got " + count);
        if (!Double.isNaN(older)) {
            double second = count - 2 * last + older;
            double variance = 6 * Math.max(1, (count + last + older) / 3);
            squares = keep * squares + Math.min(second * second, MAX_SAMPLE * variance);
            poissonVariance = keep * poissonVariance + variance;
            samples = keep * samples + 1;
        }
        older = last;
        last = count;
    }

    /** The counts' variance over their mean as measured so far; NaN before three counts give a second difference. */
    public double indexOfDispersion() {
        return samples > 0 ? squares / poissonVariance : Double.NaN;
    }

    /**
     * The variance of a count of {@code expected} requests that the noise measured so far accounts for: the dispersion
     * times the count, weighted by the evidence ({@code samples / (samples + EVIDENCE_INTERVALS)}); 0 before any.
     */
    public double noise(double expected) {
        if (!(expected > 0) || samples == 0) return 0;
        return samples / (samples + EVIDENCE_INTERVALS) * indexOfDispersion() * expected;
    }

    /**
     * The count to take as the interval's load when {@code expected} were forecast: the deviation shrunk by
     * {@code d^2 / (d^2 + noise)}, the noise being the dispersion times the expected count. A deviation within the
     * noise mostly goes (a batch of requests that happened to land in this interval), one far beyond it passes
     * almost whole (a change of load). NaN or no forecast: the count as it is.
     *
     * <p>The noise assumed is only the noise measured, weighted by how much has been seen, not a Poisson prior: the
     * two errors cost differently. Discounting a real change slows the forecast for intervals, and with a start-up
     * lead the workers then come too late, which no later decision repairs (a predictor's first trend estimates are
     * made of exactly those first deviations); not discounting a batch costs one worker for the scale-down delay.
     * Without evidence the deviation is load, as if there were no discount.
     */
    public double load(double count, double expected) {
        if (!(expected > 0) || samples == 0) return count;
        double d = count - expected, noise = noise(expected);
        if (!(noise > 0)) return count;
        return expected + d * (d * d / (d * d + noise));
    }
}
