package ai.armature.protocol;

import java.util.Arrays;

/**
 * Cumulative counts of the requests one worker served, as its traffic meter saw them: what arrived (requests,
 * prompt tokens and their squares, for the length distribution), first tokens (with their prompt tokens and how
 * many of those came from the prefix cache, and time to first token: sum and histogram), what finished (with
 * generated tokens and their squares; {@code failed} counts those that ended in an error), and decoding (per request the time from
 * its first to its last token over the tokens in between: sums, and a histogram of each request's mean inter-token
 * latency). The planner subtracts two reports to get an interval's traffic; counters only grow, so a lost report
 * loses nothing. Histograms share {@link #BUCKET_BOUNDS}: bucket i counts values in (bound[i-1], bound[i]], the
 * last one everything above.
 *
 * <p>Busy time, from the worker's engine ({@link EngineStats}, on the runner's clock): seconds in all model steps
 * ({@code busySeconds}), in the steps that computed prompt tokens ({@code promptStepSeconds}) and the prompt tokens
 * those computed ({@code promptTokensComputed}); all 0 for an engine that does not report them (upstream engines).
 * {@code maxPromptTokens} is the longest prompt the worker was sent so far: not a count, so an interval
 * ({@link #minus}) keeps the later report's, and a sum ({@link #plus}) the larger.
 */
public record TrafficCounters(
        long requests,
        long promptTokens,
        double promptTokensSquared,
        long firstTokens,
        long firstTokenPromptTokens,
        long cachedPromptTokens,
        double ttftSeconds,
        long[] ttftHistogram,
        long finished,
        long failed,
        long outputTokens,
        double outputTokensSquared,
        long decodedRequests,
        long decodeIntervals,
        double decodeSeconds,
        long[] itlHistogram,
        double busySeconds,
        double promptStepSeconds,
        long promptTokensComputed,
        long maxPromptTokens) {

    /** Upper bounds of the histogram buckets in seconds: 1 ms times powers of sqrt(2), up to about 12 minutes. */
    public static final double[] BUCKET_BOUNDS = bounds();

    public static final TrafficCounters ZERO = new TrafficCounters(0, 0, 0, 0, 0, 0, 0, new long[BUCKET_BOUNDS.length + 1], 0, 0, 0, 0, 0, 0, 0,
            new long[BUCKET_BOUNDS.length + 1]);

    /** Counts without busy time or longest prompt (not reported: 0). */
    public TrafficCounters(long requests, long promptTokens, double promptTokensSquared, long firstTokens, long firstTokenPromptTokens,
                           long cachedPromptTokens, double ttftSeconds, long[] ttftHistogram, long finished, long failed, long outputTokens,
                           double outputTokensSquared, long decodedRequests, long decodeIntervals, double decodeSeconds, long[] itlHistogram) {
        this(requests, promptTokens, promptTokensSquared, firstTokens, firstTokenPromptTokens, cachedPromptTokens, ttftSeconds, ttftHistogram,
                finished, failed, outputTokens, outputTokensSquared, decodedRequests, decodeIntervals, decodeSeconds, itlHistogram, 0, 0, 0, 0);
    }

    private static double[] bounds() {
        double[] b = new double[40];
        for (int i = 0; i < b.length; i++) b[i] = 1e-3 * Math.pow(2, i / 2.0);
        return b;
    }

    public TrafficCounters {
        int n = BUCKET_BOUNDS.length + 1;
        if (ttftHistogram.length != n || itlHistogram.length != n) {
            throw new IllegalArgumentException("traffic histograms have " + n + " buckets, got " + ttftHistogram.length + " and " + itlHistogram.length);
        }
        ttftHistogram = ttftHistogram.clone();
        itlHistogram = itlHistogram.clone();
    }

    /** The bucket a value in seconds falls in. */
    public static int bucketOf(double seconds) {
        int i = Arrays.binarySearch(BUCKET_BOUNDS, seconds);
        return i >= 0 ? i : -i - 1;
    }

    /** What happened between {@code earlier} and this report (both of one worker). */
    public TrafficCounters minus(TrafficCounters earlier) {
        long[] t = ttftHistogram.clone(), d = itlHistogram.clone();
        for (int i = 0; i < t.length; i++) {
            t[i] -= earlier.ttftHistogram[i];
            d[i] -= earlier.itlHistogram[i];
        }
        return new TrafficCounters(requests - earlier.requests, promptTokens - earlier.promptTokens,
                promptTokensSquared - earlier.promptTokensSquared, firstTokens - earlier.firstTokens,
                firstTokenPromptTokens - earlier.firstTokenPromptTokens, cachedPromptTokens - earlier.cachedPromptTokens,
                ttftSeconds - earlier.ttftSeconds, t, finished - earlier.finished, failed - earlier.failed,
                outputTokens - earlier.outputTokens, outputTokensSquared - earlier.outputTokensSquared, decodedRequests - earlier.decodedRequests,
                decodeIntervals - earlier.decodeIntervals, decodeSeconds - earlier.decodeSeconds, d, busySeconds - earlier.busySeconds,
                promptStepSeconds - earlier.promptStepSeconds, promptTokensComputed - earlier.promptTokensComputed, maxPromptTokens);
    }

    /** The sum of two workers' (or intervals') counts. */
    public TrafficCounters plus(TrafficCounters o) {
        long[] t = ttftHistogram.clone(), d = itlHistogram.clone();
        for (int i = 0; i < t.length; i++) {
            t[i] += o.ttftHistogram[i];
            d[i] += o.itlHistogram[i];
        }
        return new TrafficCounters(requests + o.requests, promptTokens + o.promptTokens, promptTokensSquared + o.promptTokensSquared,
                firstTokens + o.firstTokens, firstTokenPromptTokens + o.firstTokenPromptTokens, cachedPromptTokens + o.cachedPromptTokens,
                ttftSeconds + o.ttftSeconds, t, finished + o.finished, failed + o.failed, outputTokens + o.outputTokens,
                outputTokensSquared + o.outputTokensSquared,
                decodedRequests + o.decodedRequests, decodeIntervals + o.decodeIntervals, decodeSeconds + o.decodeSeconds, d,
                busySeconds + o.busySeconds, promptStepSeconds + o.promptStepSeconds, promptTokensComputed + o.promptTokensComputed,
                Math.max(maxPromptTokens, o.maxPromptTokens));
    }

    /** Whether some counter went backwards (the worker restarted under the same id: start over from this report). */
    public boolean wentBackFrom(TrafficCounters earlier) {
        return requests < earlier.requests || firstTokens < earlier.firstTokens || finished < earlier.finished;
    }

    /** Whether the busy time is reported: prompt tokens were computed in timed steps. */
    public boolean reportsBusyTime() {
        return promptTokensComputed > 0 && promptStepSeconds > 0;
    }

    /** Seconds of prompt steps per prompt token computed (NaN if not reported). */
    public double promptSecondsPerToken() {
        return reportsBusyTime() ? promptStepSeconds / promptTokensComputed : Double.NaN;
    }

    /** Mean prompt length of the requests that arrived (NaN if none). */
    public double meanPromptTokens() {
        return requests == 0 ? Double.NaN : (double) promptTokens / requests;
    }

    /** Variance of the prompt length of the requests that arrived (NaN if none). */
    public double promptTokensVariance() {
        if (requests == 0) return Double.NaN;
        double mean = (double) promptTokens / requests;
        return Math.max(0, promptTokensSquared / requests - mean * mean);
    }

    /** Share of prompt tokens served from the prefix cache, of the requests that got their first token (NaN if none). */
    public double cachedFraction() {
        return firstTokenPromptTokens == 0 ? Double.NaN : (double) cachedPromptTokens / firstTokenPromptTokens;
    }

    /** Mean generated tokens of the requests that finished (NaN if none). */
    public double meanOutputTokens() {
        return finished == 0 ? Double.NaN : (double) outputTokens / finished;
    }

    /** Variance of the generated length of the requests that finished (NaN if none). */
    public double outputTokensVariance() {
        if (finished == 0) return Double.NaN;
        double mean = (double) outputTokens / finished;
        return Math.max(0, outputTokensSquared / finished - mean * mean);
    }

    /** Mean time to first token (NaN if none). */
    public double meanTtftSeconds() {
        return firstTokens == 0 ? Double.NaN : ttftSeconds / firstTokens;
    }

    /** Mean inter-token latency over all decoded tokens (NaN if none). */
    public double meanItlSeconds() {
        return decodeIntervals == 0 ? Double.NaN : decodeSeconds / decodeIntervals;
    }

    /** Share of first tokens that came within {@code seconds} (interpolated inside a bucket; NaN if none). */
    public double ttftWithin(double seconds) {
        return within(ttftHistogram, seconds);
    }

    /** Share of decoded requests whose mean inter-token latency was within {@code seconds} (NaN if none). */
    public double itlWithin(double seconds) {
        return within(itlHistogram, seconds);
    }

    private static double within(long[] h, double seconds) {
        long total = 0;
        for (long c : h) total += c;
        if (total == 0) return Double.NaN;
        int b = bucketOf(seconds);
        double below = 0;
        for (int i = 0; i < b; i++) below += h[i];
        if (b < BUCKET_BOUNDS.length) {
            double lo = b == 0 ? 0 : BUCKET_BOUNDS[b - 1], hi = BUCKET_BOUNDS[b];
            below += h[b] * (seconds - lo) / (hi - lo);
        }
        return below / total;
    }

    @Override
    public long[] ttftHistogram() {
        return ttftHistogram.clone();
    }

    @Override
    public long[] itlHistogram() {
        return itlHistogram.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrafficCounters c && c.requests == requests && c.promptTokens == promptTokens
                && c.promptTokensSquared == promptTokensSquared && c.firstTokens == firstTokens
                && c.firstTokenPromptTokens == firstTokenPromptTokens && c.cachedPromptTokens == cachedPromptTokens
                && c.ttftSeconds == ttftSeconds && Arrays.equals(c.ttftHistogram, ttftHistogram) && c.finished == finished
                && c.failed == failed && c.outputTokens == outputTokens && c.outputTokensSquared == outputTokensSquared
                && c.decodedRequests == decodedRequests
                && c.decodeIntervals == decodeIntervals && c.decodeSeconds == decodeSeconds && Arrays.equals(c.itlHistogram, itlHistogram)
                && c.busySeconds == busySeconds && c.promptStepSeconds == promptStepSeconds && c.promptTokensComputed == promptTokensComputed
                && c.maxPromptTokens == maxPromptTokens;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(requests) * 31 + Long.hashCode(finished) * 17 + Arrays.hashCode(ttftHistogram);
    }

    @Override
    public String toString() {
        return "TrafficCounters[requests=" + requests + ", firstTokens=" + firstTokens + ", finished=" + finished + ", failed=" + failed
                + ", promptTokens=" + promptTokens + ", outputTokens=" + outputTokens + ", busySeconds=" + busySeconds
                + ", promptStepSeconds=" + promptStepSeconds + ", promptTokensComputed=" + promptTokensComputed + ", maxPromptTokens=" + maxPromptTokens + "]";
    }
}
