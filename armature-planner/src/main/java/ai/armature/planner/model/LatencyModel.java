package ai.armature.planner.model;

import ai.armature.planner.Pool;

/**
 * Predicts a pool's TTFT and ITL from its worker's profile, the workload and the number of workers, and finds the
 * fewest workers that meet the targets. Per worker the rate is the pool's rate over the workers (the router
 * spreads load); the model, with the profile's curves scaled by the {@link Corrections}:
 * <ul>
 *   <li>Decode: by Little's law a worker has {@code B = r * outputTokens * ITL(B)} sequences decoding, where
 *       {@code ITL(B)} is the profiled step time at batch B and the mean context (prompt + half the output);
 *       solved for B. ITL at the attainment quantile uses {@code B + z * sqrt(B)} sequences (the number in a
 *       system with Poisson arrivals fluctuates by about its square root). The batch must fit the worker's
 *       sequences and KV cache.</li>
 *   <li>Prefill: each prompt needs its profiled prefill time S for the tokens not in the prefix cache; prompt
 *       lengths follow a lognormal with the workload's mean and variance (finer points in the tail), so long
 *       prompts bring their own long S (none past the longest prompt seen, nor the worker's context). The pool is
 *       a queue with N servers (M/G/N, Allen-Cunneen's approximation: Erlang C's probability of waiting, waiting
 *       times exponential with rate {@code (N - a) / E[S] * 2 / (1 + cs^2)} where {@code a = rate * E[S]} and cs^2 is S's squared coefficient of variation); TTFT at the quantile is
 *       the t with {@code P(S + W > t)} equal to the allowed misses.</li>
 *   <li>Aggregated workers do both in shared steps: prefill takes {@code r * S} of a worker's time, stretching
 *       each decode step by {@code 1 / (1 - r * S)}, and each prompt chunk (the step budget minus the decoding
 *       sequences) also waits for one decode step, lengthening S.</li>
 * </ul>
 * Adding workers never raises a prediction, so the smallest pool is found by bisection. Immutable; thread-safe.
 */
public final class LatencyModel {

    private final PerformanceModel perf;

    public LatencyModel(PerformanceModel perf) {
        this.perf = perf;
    }

    public PerformanceModel performance() {
        return perf;
    }

    /**
     * The prediction for {@code workers} workers of {@code pool} at workload {@code w}, latencies at the SLO's
     * attainment quantile, with the share of requests that would miss its TTFT target, and the share that would
     * miss it alone on a worker (prompts too long for the target: no number of workers helps those).
     */
    public Estimate estimate(Pool pool, Workload w, int workers, Corrections k, Slo slo) {
        return estimate(pool, w, workers, k, slo.attainment(), slo.ttftSeconds(), slo.itlSeconds());
    }

    /** The prediction for {@code workers} workers of {@code pool} at workload {@code w}, latencies at quantile {@code quantile}. */
    public Estimate estimate(Pool pool, Workload w, int workers, Corrections k, double quantile) {
        return estimate(pool, w, workers, k, quantile, Double.NaN, Double.NaN);
    }

    private Estimate estimate(Pool pool, Workload w, int workers, Corrections k, double quantile, double ttftTarget, double itlTarget) {
        if (w.requestRate() <= 0) return new Estimate(workers, true, 0, 0, 0, 0, 0, 0);
        if (workers <= 0) return Estimate.infeasible(workers);
        var limits = perf.limits();
        double r = w.requestRate() / workers;
        double input = w.inputTokens();
        double output = w.outputTokens();
        double context = input + output / 2;
        double z = normalQuantile(quantile);
        // Prompts by length (the workload's mean and variance, lognormal), each with its own prefill time.
        double[][] pts = promptPoints(w);
        double[] alone = new double[pts.length];
        double meanAlone = 0, squareAlone = 0;
        for (int i = 0; i < pts.length; i++) {
            alone[i] = k.prefill() * perf.prefillSeconds(pts[i][0], pts[i][0] * w.cachedFraction());
            meanAlone += pts[i][1] * alone[i];
            squareAlone += pts[i][1] * alone[i] * alone[i];
        }

        double busyPrefill = pool.prefills() ? r * meanAlone : 0;
        if (busyPrefill >= 1) return Estimate.infeasible(workers);
        double batch = 0, itlMean = 0, itl = 0, stepAtBatch = 0;
        if (pool.decodes()) {
            double stretch = 1 / (1 - busyPrefill);
            double cap = Math.min(limits.maxSeqs(), limits.kvCacheTokens() / context);
            batch = decodingBatch(r * output, context, k.decode() * stretch, cap);
            if (Double.isNaN(batch)) return Estimate.infeasible(workers);
            double high = batch + z * Math.sqrt(batch);
            if (high > cap && batch > 0) {
                // The fluctuation may only reach the limit, not the mean: ITL is then taken at the limit.
                high = cap;
            }
            stepAtBatch = k.decode() * perf.decodeStepSeconds(batch, context);
            itlMean = stepAtBatch * stretch;
            itl = k.decode() * perf.decodeStepSeconds(high, context) * stretch;
        }
        double itlMiss = Double.NaN;
        if (pool.decodes() && !Double.isNaN(itlTarget)) {
            itlMiss = itlMisses(w, r, itlMean, stepAtBatch, k.decode() * perf.decodeStepSeconds(batch + Math.sqrt(batch), context) - stepAtBatch,
                    pool.prefills() ? meanAlone : 0, pool.prefills() ? squareAlone : 0, itlTarget);
            itlMiss = Math.min(1, k.itlTail() * itlMiss);
        }
        double ttft = 0, ttftMean = 0, utilization;
        if (pool.prefills()) {
            double[] service = new double[pts.length];
            double mean = 0, square = 0;
            for (int i = 0; i < pts.length; i++) {
                // Each chunk is charged a whole decode step, more than the decodes riding along add to its step (what
                // promptStepSecondsPerToken charges): charged that instead, the planner gave the same on the Mooncake
                // trace and fewer worker-seconds but lower attainment on the burst (README, Planner).
                service[i] = alone[i] + chunks(pts[i][0] * (1 - w.cachedFraction()), batch) * stepAtBatch;
                mean += pts[i][1] * service[i];
                square += pts[i][1] * service[i] * service[i];
            }
            double offered = w.requestRate() * mean;
            if (offered >= workers) return Estimate.infeasible(workers);
            double cs2 = Math.min(25, Math.max(0, square / (mean * mean) - 1));
            double c = erlangC(workers, offered);
            double theta = (workers - offered) / mean * 2 / (1 + cs2);
            ttftMean = mean + c / theta;
            ttft = ttftQuantile(service, pts, c, theta, 1 - quantile);
            utilization = pool.decodes() ? (batch > 0 ? 1 : busyPrefill) : offered / workers;
            if (!Double.isNaN(ttftTarget)) {
                // The floor: prompts whose own service (no wait) already takes longer; the rest of the misses are the wait's.
                double miss = exceeding(service, pts, c, theta, ttftTarget), floor = 0;
                for (int i = 0; i < pts.length; i++) if (service[i] > ttftTarget) floor += pts[i][1];
                miss = Math.min(1, floor + k.waitTail() * (miss - floor));
                return new Estimate(workers, true, ttft, itl, ttftMean, itlMean, batch, Math.min(1, utilization), miss, floor, itlMiss);
            }
        } else {
            utilization = batch > 0 ? 1 : 0;
        }
        return new Estimate(workers, true, ttft, itl, ttftMean, itlMean, batch, Math.min(1, utilization), Double.NaN, Double.NaN, itlMiss);
    }

    /** The prompt chunks of {@code fresh} tokens to compute when {@code batch} decoding sequences share each step's budget. */
    private double chunks(double fresh, double batch) {
        if (!(batch > 0)) return 0;
        double chunk = Math.max(1, perf.limits().maxBatchedTokens() - batch);
        return Math.ceil(Math.max(1, fresh) / chunk);
    }

    /**
     * What {@code batch} decoding sequences riding along a prompt chunk add to its step, in two parts: their tokens
     * at a full chunk's profiled cost per token (the step computes them with the prompt's and reads the weights once
     * for all), and their attention, the part of the profiled decode step that grows with the context. Not a whole
     * decode step: the chunk already pays the step's overhead and weight reads.
     */
    private double rideTokenSeconds(double batch) {
        if (!(batch > 0)) return 0;
        int budget = perf.limits().maxBatchedTokens();
        return batch * perf.prefillSeconds(budget) / budget;
    }

    /** The riding decodes' attention over {@code context} tokens: the profiled decode step's growth with context. */
    private double rideAttentionSeconds(double batch, double context) {
        if (!(batch > 0)) return 0;
        return Math.max(0, perf.decodeStepSeconds(batch, context) - perf.decodeStepSeconds(batch, 0));
    }

    /**
     * The seconds of prompt-computing steps per prompt token computed that {@code workers} workers of {@code pool}
     * would spend at workload {@code w}, in two parts: {@code [0]}, the profiled prefill of the prompts and of the
     * riding decodes' tokens, which scales with the prefill correction (given here at 1), and {@code [1]}, the riding
     * decodes' attention at {@code k}'s decode speed. This is what the workers' busy time measures, without the
     * queueing the time to first token also holds. NaN when the pool cannot keep up.
     */
    public double[] promptStepSecondsPerToken(Pool pool, Workload w, int workers, Corrections k) {
        if (!pool.prefills()) throw new IllegalArgumentException("the " + pool.roleName() + " pool computes no prompts");
        double batch = 0, context = w.inputTokens() + w.outputTokens() / 2;
        if (pool.decodes() && w.requestRate() > 0) {
            Estimate e = estimate(pool, w, Math.max(1, workers), k, 0.5);
            if (!e.feasible()) return new double[] {Double.NaN, Double.NaN};
            batch = e.batchPerWorker();
        }
        double rideTokens = rideTokenSeconds(batch), rideAttention = k.decode() * rideAttentionSeconds(batch, context);
        double prefill = 0, attention = 0, tokens = 0;
        for (double[] p : promptPoints(w)) {
            double fresh = Math.max(1, p[0] * (1 - w.cachedFraction()));
            double n = chunks(fresh, batch);
            prefill += p[1] * (perf.prefillSeconds(p[0], p[0] * w.cachedFraction()) + n * rideTokens);
            attention += p[1] * n * rideAttention;
            tokens += p[1] * fresh;
        }
        return new double[] {prefill / tokens, attention / tokens};
    }

    /**
     * The share of requests whose mean inter-token latency exceeds {@code target}. A request generating O tokens
     * decodes for about {@code O * itlMean} seconds, in steps of {@code step} (whose batch fluctuates by
     * {@code stepDeviation}) that also carry the prompts arriving meanwhile (aggregated workers): over its life the
     * prefill time it shares is compound Poisson, mean {@code r * life * E[S]}, variance {@code r * life * E[S^2]},
     * spread over its O tokens. So short outputs that meet a long prompt miss most; normal approximation per output
     * length (lognormal lengths with the workload's mean and variance).
     */
    private static double itlMisses(Workload w, double r, double itlMean, double step, double stepDeviation, double prefillMean,
                                    double prefillSquare, double target) {
        double[][] outs = lengthPoints(w.outputTokens(), w.outputTokensVariance());
        double miss = 0;
        for (double[] o : outs) {
            double tokens = Math.max(1, o[0]);
            double life = tokens * itlMean;
            double mean = step + r * life * prefillMean / tokens;
            double sd = Math.sqrt(stepDeviation * stepDeviation + r * life * prefillSquare / (tokens * tokens));
            double p = sd <= 0 ? (mean > target ? 1 : 0) : 1 - normalCdf((target - mean) / sd);
            miss += o[1] * p;
        }
        return Math.clamp(miss, 0, 1);
    }

    /** The standard normal CDF (Abramowitz and Stegun 7.1.26 through erf, absolute error below 1.5e-7). */
    static double normalCdf(double x) {
        double z = Math.abs(x) / Math.sqrt(2);
        double t = 1 / (1 + 0.3275911 * z);
        double erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
        return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }

    /**
     * The time t with {@code P(S + W > t) = tail}, where S is a prompt's service time (the weighted points) and the
     * wait W is 0 with probability 1 - c and exponential with rate theta otherwise (Allen-Cunneen), by bisection.
     */
    private static double ttftQuantile(double[] service, double[][] pts, double c, double theta, double tail) {
        double lo = 0, hi = 0;
        for (double s : service) hi = Math.max(hi, s);
        hi += (c > tail ? Math.log(c / tail) : 0) / theta + 1e-9;
        for (int iter = 0; iter < 50; iter++) {
            double t = (lo + hi) / 2;
            if (exceeding(service, pts, c, theta, t) > tail) lo = t;
            else hi = t;
        }
        return hi;
    }

    /** {@code P(S + W > t)}: the prompts slower than t alone, plus the others' chance to wait past t. */
    private static double exceeding(double[] service, double[][] pts, double c, double theta, double t) {
        double exceed = 0;
        for (int i = 0; i < service.length; i++) exceed += pts[i][1] * (service[i] > t ? 1 : c * Math.exp(-theta * (t - service[i])));
        return exceed;
    }

    /**
     * Prompt lengths standing for the workload's distribution, with their probabilities: the mean alone for equal
     * prompts, else a lognormal with the workload's mean and variance at bin midpoints, finer in the tail (the long
     * prompts decide the TTFT tail).
     */
    static double[][] lengthPoints(Workload w) {
        return lengthPoints(w.inputTokens(), w.inputTokensVariance(), w.maxInputTokens());
    }

    /** The prompt lengths of {@code w}, none longer than the longest seen nor than the worker's context. */
    private double[][] promptPoints(Workload w) {
        return lengthPoints(w.inputTokens(), w.inputTokensVariance(), Math.min(w.maxInputTokens(), perf.limits().maxContextTokens()));
    }

    /** Lengths of mean {@code m} and variance {@code v} (see {@link #lengthPoints(Workload)}), uncapped. */
    static double[][] lengthPoints(double m, double v) {
        return lengthPoints(m, v, Double.POSITIVE_INFINITY);
    }

    /**
     * Lengths of mean {@code m} and variance {@code v}, those past {@code cap} counted at the cap: the lognormal's
     * tail goes on where real prompts stop (the longest seen, the context), and a prompt it predicts past them
     * would count as one that no number of workers serves in time.
     */
    static double[][] lengthPoints(double m, double v, double cap) {
        if (v <= 1e-9 * m * m) return new double[][] {{Math.min(m, cap), 1}};
        double s2 = Math.log(1 + v / (m * m)), sigma = Math.sqrt(s2), mu = Math.log(m) - s2 / 2;
        double[] edges = TAIL_EDGES;
        double[][] out = new double[edges.length - 1][];
        for (int i = 0; i + 1 < edges.length; i++) {
            double p = (edges[i] + edges[i + 1]) / 2;
            out[i] = new double[] {Math.max(1, Math.min(cap, Math.exp(mu + sigma * normalQuantileAny(p)))), edges[i + 1] - edges[i]};
        }
        return out;
    }

    /** Bin edges in probability: 24 bins to 0.9, 9 to 0.99, 9 to 0.999, 4 to 1. */
    private static final double[] TAIL_EDGES = edges();

    private static double[] edges() {
        java.util.List<Double> e = new java.util.ArrayList<>();
        for (int i = 0; i < 24; i++) e.add(0.9 * i / 24);
        for (int i = 0; i < 9; i++) e.add(0.9 + 0.09 * i / 9);
        for (int i = 0; i < 9; i++) e.add(0.99 + 0.009 * i / 9);
        for (int i = 0; i <= 4; i++) e.add(0.999 + 0.001 * i / 4);
        return e.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The standard normal quantile for any p in (0, 1). */
    static double normalQuantileAny(double p) {
        if (p >= 1) p = 1 - 1e-12;
        if (p <= 0) p = 1e-12;
        return p >= 0.5 ? normalQuantile(p) : -normalQuantile(1 - p);
    }

    /**
     * The fewest workers in {@code [min, max]} whose prediction meets {@code slo}; with no traffic, {@code min}.
     * If even {@code max} does not meet it, {@code max} (the best the pool can do).
     */
    public int smallestPool(Pool pool, Workload w, Slo slo, Corrections k, int min, int max) {
        if (w.requestRate() <= 0) return min;
        int lo = Math.max(1, min), hi = Math.max(lo, max);
        if (!estimate(pool, w, hi, k, slo).meets(slo)) return hi;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (estimate(pool, w, mid, k, slo).meets(slo)) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /**
     * The steady batch B with {@code B = tokenRate * scale * step(B)}, in [0, cap]; NaN if the worker cannot
     * generate that fast within the cap. {@code tokenRate} is the worker's generated tokens per second.
     */
    private double decodingBatch(double tokenRate, double context, double scale, double cap) {
        if (tokenRate <= 0) return 0;
        if (cap < 1 || tokenRate * scale * perf.decodeStepSeconds(cap, context) > cap) return Double.NaN;
        double lo = 0, hi = cap;
        for (int i = 0; i < 60; i++) {
            double mid = (lo + hi) / 2;
            if (tokenRate * scale * perf.decodeStepSeconds(mid, context) > mid) lo = mid;
            else hi = mid;
        }
        return hi;
    }

    /** Erlang C: the probability that an arrival waits in an M/M/N queue offered {@code a} erlangs ({@code a < n}). */
    static double erlangC(int n, double a) {
        double b = 1;
        for (int i = 1; i <= n; i++) b = a * b / (i + a * b);
        double rho = a / n;
        return b / (1 - rho * (1 - b));
    }

    /** The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9), for p in (0.5, 1). */
    static double normalQuantile(double p) {
        if (p <= 0.5) return 0;
        if (p >= 1) p = 1 - 1e-12;
        double q = Math.sqrt(-2 * Math.log(1 - p));
        if (p > 0.97575) {
            return -(((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q
                    + 4.374664141464968e+00) * q + 2.938163982698783e+00)
                    / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1);
        }
        double u = p - 0.5, t = u * u;
        return (((((-3.969683028665376e+01 * t + 2.209460984245205e+02) * t - 2.759285104469687e+02) * t + 1.383577518672690e+02) * t
                - 3.066479806614716e+01) * t + 2.506628277459239e+00) * u
                / (((((-5.447609879822406e+01 * t + 1.615858368580409e+02) * t - 1.556989798598866e+02) * t + 6.680131188771972e+01) * t
                - 1.328068155288572e+01) * t + 1);
    }
}
