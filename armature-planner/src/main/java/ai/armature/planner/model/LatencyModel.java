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
 *   <li>Prefill: each prompt needs its profiled prefill time S for the tokens not in the prefix cache. The pool
 *       is a queue with N servers (M/G/N, Allen-Cunneen's approximation: Erlang C's probability of waiting,
 *       waiting times exponential with rate {@code (N - a) / S * 2 / (1 + cs^2)} where {@code a = rate * S} and
 *       cs^2 is the prompt length's squared coefficient of variation); TTFT is S plus the wait at the quantile.</li>
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

    /** The prediction for {@code workers} workers of {@code pool} at workload {@code w}. */
    public Estimate estimate(Pool pool, Workload w, int workers, Corrections k, double attainment) {
        if (w.requestRate() <= 0) return new Estimate(workers, true, 0, 0, 0, 0, 0, 0);
        if (workers <= 0) return Estimate.infeasible(workers);
        var limits = perf.limits();
        double r = w.requestRate() / workers;
        double input = w.inputTokens();
        double cached = input * w.cachedFraction();
        double output = w.outputTokens();
        double context = input + output / 2;
        double prefill = k.prefill() * perf.prefillSeconds(input, cached);
        double cs2 = Math.min(4, w.inputCv2());
        double z = normalQuantile(attainment);

        double busyPrefill = pool.prefills() ? r * prefill : 0;
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
        double ttft = 0, ttftMean = 0, utilization;
        if (pool.prefills()) {
            double service = prefill;
            if (pool.decodes() && batch > 0) {
                double fresh = Math.max(1, input - cached);
                double chunk = Math.max(1, limits.maxBatchedTokens() - batch);
                service += Math.ceil(fresh / chunk) * stepAtBatch;
            }
            double offered = w.requestRate() * service;
            if (offered >= workers) return Estimate.infeasible(workers);
            double c = erlangC(workers, offered);
            double theta = (workers - offered) / service * 2 / (1 + cs2);
            double tail = 1 - attainment;
            ttftMean = service + c / theta;
            ttft = service + (c > tail ? Math.log(c / tail) / theta : 0);
            utilization = pool.decodes() ? (batch > 0 ? 1 : busyPrefill) : offered / workers;
        } else {
            utilization = batch > 0 ? 1 : 0;
        }
        return new Estimate(workers, true, ttft, itl, ttftMean, itlMean, batch, Math.min(1, utilization));
    }

    /**
     * The fewest workers in {@code [min, max]} whose prediction meets {@code slo}; with no traffic, {@code min}.
     * If even {@code max} does not meet it, {@code max} (the best the pool can do).
     */
    public int smallestPool(Pool pool, Workload w, Slo slo, Corrections k, int min, int max) {
        if (w.requestRate() <= 0) return min;
        int lo = Math.max(1, min), hi = Math.max(lo, max);
        if (!estimate(pool, w, hi, k, slo.attainment()).meets(slo)) return hi;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (estimate(pool, w, mid, k, slo.attainment()).meets(slo)) hi = mid;
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
