package ai.armature.planner;

import java.util.Objects;

import ai.armature.planner.model.Slo;
import ai.armature.planner.predict.LoadPredictor;

/**
 * How the planner decides, per pool:
 * <ul>
 *   <li>{@code intervalSeconds} ({@code --interval}): time between decisions; each observes the interval that ended
 *       and forecasts the next ones;</li>
 *   <li>{@code slo}: the TTFT and ITL targets and the share of requests that should meet both;</li>
 *   <li>{@code minWorkers} / {@code maxWorkers}: bounds of each pool (0 allowed: the pool scales to zero when idle
 *       and back to one on the first request);</li>
 *   <li>{@code workerStartupSeconds}: how long a started worker takes to serve; the planner sizes for the load that
 *       far ahead (and one interval more, until its next decision);</li>
 *   <li>{@code warmupSeconds}: a new worker's latencies are left out of the corrections for this long (its first
 *       steps run cold);</li>
 *   <li>{@code scaleDownDelaySeconds}: a pool shrinks only to the largest size recommended over this long (so a
 *       dip does not remove workers the next interval wants back);</li>
 *   <li>{@code scaleDownMargin}: workers are removed only if the survivors, carrying the whole load, are predicted
 *       within this share of the targets;</li>
 *   <li>{@code predictor}: the load predictor each series starts from;</li>
 *   <li>{@code corrections}: whether observed latencies correct the profile;</li>
 *   <li>{@code backlogSeconds} ({@code --backlog-seconds}): requests waiting in front of the pool are sized to be
 *       cleared within this long, at least the start-up time and one interval (0: that); see
 *       {@link #backlogClearSeconds()}.</li>
 * </ul>
 */
public record PlannerConfig(
        double intervalSeconds,
        Slo slo,
        int minWorkers,
        int maxWorkers,
        double workerStartupSeconds,
        double warmupSeconds,
        double scaleDownDelaySeconds,
        double scaleDownMargin,
        LoadPredictor predictor,
        boolean corrections,
        double backlogSeconds) {

    public static final double DEFAULT_INTERVAL_SECONDS = 10;
    public static final double DEFAULT_TTFT_SLO = 0.5;
    public static final double DEFAULT_ITL_SLO = 0.05;
    public static final double DEFAULT_ATTAINMENT = 0.99;
    public static final int DEFAULT_MAX_WORKERS = 64;
    public static final double DEFAULT_STARTUP_SECONDS = 60;
    public static final double DEFAULT_WARMUP_SECONDS = 30;
    public static final double DEFAULT_SCALE_DOWN_DELAY_SECONDS = 60;
    public static final double DEFAULT_SCALE_DOWN_MARGIN = 0.8;
    /**
     * Holt with its trend damped by 0.8: the trend adds at most 4 intervals of its slope however long workers take to
     * start. Its slope is smoothed over about 10 intervals (beta 0.1): the trend answers ramps, which last longer than
     * a start-up (a burst is answered by the surge test, at the rate seen), and with beta 0.3 the noise of batchy
     * counts put a trend into it that the long start-ups' horizon extrapolated (README, Planner).
     */
    public static final String DEFAULT_PREDICTOR = "holt:0.5,0.1,0.8";

    public PlannerConfig {
        if (!(intervalSeconds > 0) || Double.isInfinite(intervalSeconds)) throw new IllegalArgumentException("--interval must be > 0 seconds, got " + intervalSeconds);
        Objects.requireNonNull(slo, "slo");
        if (minWorkers < 0) throw new IllegalArgumentException("--min-workers must be >= 0, got " + minWorkers);
        if (maxWorkers < 1 || maxWorkers < minWorkers) {
            throw new IllegalArgumentException("--max-workers must be >= 1 and >= --min-workers (" + minWorkers + "), got " + maxWorkers);
        }
        if (!(workerStartupSeconds >= 0) || Double.isInfinite(workerStartupSeconds)) {
            throw new IllegalArgumentException("--worker-startup-seconds must be >= 0, got " + workerStartupSeconds);
        }
        if (!(warmupSeconds >= 0)) throw new IllegalArgumentException("--warmup-seconds must be >= 0, got " + warmupSeconds);
        if (!(scaleDownDelaySeconds >= 0)) throw new IllegalArgumentException("--scale-down-delay must be >= 0 seconds, got " + scaleDownDelaySeconds);
        if (!(scaleDownMargin > 0 && scaleDownMargin <= 1)) {
            throw new IllegalArgumentException("--scale-down-margin must be in (0, 1], got " + scaleDownMargin);
        }
        Objects.requireNonNull(predictor, "predictor");
        if (!(backlogSeconds >= 0) || Double.isInfinite(backlogSeconds)) {
            throw new IllegalArgumentException("--backlog-seconds must be >= 0 seconds (0: the start-up time), got " + backlogSeconds);
        }
    }

    public static PlannerConfig defaults() {
        return new PlannerConfig(DEFAULT_INTERVAL_SECONDS, new Slo(DEFAULT_TTFT_SLO, DEFAULT_ITL_SLO, DEFAULT_ATTAINMENT), 1,
                DEFAULT_MAX_WORKERS, DEFAULT_STARTUP_SECONDS, DEFAULT_WARMUP_SECONDS, DEFAULT_SCALE_DOWN_DELAY_SECONDS,
                DEFAULT_SCALE_DOWN_MARGIN, LoadPredictor.parse(DEFAULT_PREDICTOR), true, 0);
    }

    /**
     * The time requests waiting in front of a pool are sized to be cleared within: {@link #backlogSeconds}, at least the
     * start-up time (a worker started for a backlog serves at least as long as it took to start: clearing faster costs
     * many workers for a short while, e.g. twice the worker-seconds on a 10x burst at a 60 s start-up) and one interval.
     * Longer than the start-up pays where the routers send the newest requests first once the oldest have waited the
     * TTFT target ({@code --router-lifo-after}): the backlog has missed it anyway and the newest meet it, so clearing it
     * over 30 s instead of 10 took 13% fewer worker-seconds at the same attainment on that burst; oldest first it
     * would keep every request behind the backlog waiting (70% attainment instead of 82% over 60 s).
     */
    public double backlogClearSeconds() {
        return Math.max(backlogSeconds, Math.max(intervalSeconds, workerStartupSeconds));
    }

    public PlannerConfig withBacklogSeconds(double v) {
        return new PlannerConfig(intervalSeconds, slo, minWorkers, maxWorkers, workerStartupSeconds, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, predictor, corrections, v);
    }

    /** How many intervals ahead a worker started now must cover: until it serves, and one decision more. */
    public int horizonIntervals() {
        return (int) Math.ceil(workerStartupSeconds / intervalSeconds - 1e-9) + 1;
    }

    public PlannerConfig withInterval(double v) {
        return new PlannerConfig(v, slo, minWorkers, maxWorkers, workerStartupSeconds, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, predictor, corrections, backlogSeconds);
    }

    public PlannerConfig withSlo(Slo v) {
        return new PlannerConfig(intervalSeconds, v, minWorkers, maxWorkers, workerStartupSeconds, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, predictor, corrections, backlogSeconds);
    }

    public PlannerConfig withWorkers(int min, int max) {
        return new PlannerConfig(intervalSeconds, slo, min, max, workerStartupSeconds, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, predictor, corrections, backlogSeconds);
    }

    public PlannerConfig withStartup(double v) {
        return new PlannerConfig(intervalSeconds, slo, minWorkers, maxWorkers, v, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, predictor, corrections, backlogSeconds);
    }

    public PlannerConfig withWarmup(double v) {
        return new PlannerConfig(intervalSeconds, slo, minWorkers, maxWorkers, workerStartupSeconds, v, scaleDownDelaySeconds, scaleDownMargin, predictor, corrections, backlogSeconds);
    }

    public PlannerConfig withScaleDown(double delaySeconds, double margin) {
        return new PlannerConfig(intervalSeconds, slo, minWorkers, maxWorkers, workerStartupSeconds, warmupSeconds, delaySeconds, margin, predictor, corrections, backlogSeconds);
    }

    public PlannerConfig withPredictor(LoadPredictor v) {
        return new PlannerConfig(intervalSeconds, slo, minWorkers, maxWorkers, workerStartupSeconds, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, v, corrections, backlogSeconds);
    }

    public PlannerConfig withCorrections(boolean v) {
        return new PlannerConfig(intervalSeconds, slo, minWorkers, maxWorkers, workerStartupSeconds, warmupSeconds, scaleDownDelaySeconds, scaleDownMargin, predictor, v, backlogSeconds);
    }
}
