package ai.armature.planner;

import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import java.util.logging.Logger;

import ai.armature.planner.model.Corrections;
import ai.armature.planner.model.Estimate;
import ai.armature.planner.model.LatencyModel;
import ai.armature.planner.model.RequestShape;
import ai.armature.planner.model.Workload;
import ai.armature.planner.predict.CountDispersion;
import ai.armature.planner.predict.LoadPredictor;
import ai.armature.protocol.TrafficCounters;

/**
 * The SLA planner ({@code --planner sla}): sizes each pool with its {@link LatencyModel} so that the predicted TTFT
 * and ITL meet the targets at the forecast load, with the fewest workers. Each interval, per pool:
 * <ol>
 *   <li>the interval's arrival rate feeds the {@link LoadPredictor}: the requests the workers admitted plus the
 *       change in those waiting in front of the pool (held at the frontends for want of a worker, or at the routers
 *       while every worker is busy), so a burst the routers hold back counts when it comes, not when it is let
 *       through; an interval with no request is a rate of 0, not missing data. What requests look like (prompt length mean
 *       and variance, prefix-cache share, output length) is a {@link RequestShape} over many intervals' requests:
 *       heavy-tailed lengths averaged over one interval's few dozen requests jump too much to forecast;</li>
 *   <li>with enough samples from workers past their warm-up, what they delivered corrects the profile: the prefill
 *       speed from their busy time (seconds of prompt steps per prompt token computed, against the model's), or for
 *       engines that do not report it from the mean TTFT, and the decode speed from the mean ITL (the factor that
 *       makes the model's mean match at the observed load and worker count), smoothed; and the
 *       share of requests past the TTFT target corrects the model's tail (observed over predicted misses caused by
 *       waiting, decayed over intervals): queues of long prompts and bursty arrivals wait longer than M/G/N says.
 *       Intervals that begin with a backlog (more pending prompt tokens on a warm worker than it computes within the
 *       TTFT target, or requests waiting at the routers for a worker that is not busy) correct nothing: their
 *       latencies are the backlog's;</li>
 *   <li>up: the fewest workers meeting the targets at each forecast from one interval ahead to the startup horizon
 *       ({@link PlannerConfig#horizonIntervals()}), the largest of them: capacity is asked for a startup time before
 *       the load it is for; the forecasts' trend is extrapolated only as far as it stands out of the counts' measured
 *       noise ({@link LoadPredictor#forecast(int, double)}), or the noise a long horizon extrapolates starts workers; and in a surge (twice this interval's forecast and three Poisson deviations over it)
 *       at least what the rate just seen needs, without waiting for the predictor to catch up;</li>
 *   <li>down: the fewest workers whose prediction, carrying the whole one-interval forecast or the rate just
 *       observed, whichever is higher (survivors absorb the removed workers' load), is within
 *       {@code scaleDownMargin} of the targets; the pool shrinks only to the
 *       largest such size of the last {@code scaleDownDelaySeconds}, never below what the horizon needs, and not
 *       within that delay after the pool grew and all its new workers serve (a worker just asked for is not cancelled
 *       by the next dip).</li>
 * </ol>
 * Between decisions, every {@link Autoscaler#SURGE_CHECK_SECONDS}, the arrivals since the last one are put to the
 * same surge test at a stricter threshold ({@link #surge}): a burst that begins just after a decision starts workers
 * within a second instead of an interval later. It only scales up.
 * A forecast of less than half a request per interval counts as no load, so the decaying tail of a forecast does
 * not keep (or start) a worker. A size between the two holds: a pool that just scaled down is predicted within the margin, so it does not scale
 * back up at the same load (no oscillation). Sizes stay within {@code [minWorkers, maxWorkers]}; with
 * {@code minWorkers} 0 an idle pool goes to zero and a held request brings one worker at once.
 */
public final class SlaPlanner implements ScalingPolicy {

    private static final Logger LOG = Logger.getLogger(SlaPlanner.class.getName());
    /** Fewest warm samples in an interval for a correction: fewer are noise. */
    static final int MIN_CORRECTION_SAMPLES = 10;
    /** Most weight of the newest correction against the running one. */
    static final double CORRECTION_WEIGHT = 0.5;
    /**
     * Requests an interval needs for its speed correction to weigh {@link #CORRECTION_WEIGHT}: the mean TTFT of a few
     * dozen heavy-tailed prompts says little about the workers' speed (on the Mooncake trace, 30 requests an interval,
     * the corrections swung 0.7-2.4 at a profile that was exact), so an interval's fit weighs n / (n + this) at most.
     */
    static final double SPEED_EVIDENCE_REQUESTS = 250;
    /** Per interval, the weight the requests seen earlier keep in the length estimates (a half-life of 14 intervals). */
    static final double SHAPE_KEEP = 0.95;
    /** Per interval, how much of the past wait-tail evidence is kept. */
    static final double TAIL_DECAY = 0.9;
    /** A forecast of fewer requests than this per interval is idle: it keeps no worker up (a held request starts one). */
    static final double IDLE_REQUESTS_PER_INTERVAL = 0.5;

    /** A decision's surge test: deviations of the interval's count over its forecast. */
    static final double SURGE_DEVIATIONS = 3;
    /**
     * The surge check's, between decisions: stricter, as it looks at up to nine partial intervals per decision (nine
     * chances for batchy noise to pass) and scales up for a start-up time and the scale-down delay on what it sees.
     */
    static final double SURGE_CHECK_DEVIATIONS = 5;

    private final PlannerConfig config;
    private final Map<Pool, LatencyModel> models;
    private final Map<Pool, State> states = new EnumMap<>(Pool.class);

    /** Per pool: the series being predicted, the corrections, the recent scale-down sizes. */
    private final class State {
        final LoadPredictor rate = config.predictor().fresh();
        final RequestShape shape = new RequestShape(SHAPE_KEEP);
        final CountDispersion arrivals = new CountDispersion(SHAPE_KEEP);
        Corrections corrections = Corrections.NONE;
        final ArrayDeque<double[]> downSizes = new ArrayDeque<>(); // {time, size}
        /** Decayed counts of warm requests past the TTFT target beyond the long-prompt floor, observed and predicted. */
        double waitMissesSeen, waitMissesPredicted;
        /** The same for the ITL target. */
        double itlMissesSeen, itlMissesPredicted;
        /** When the pool last grew (by this planner or anyone) or was first seen: no shrinking within the delay after. */
        double grewAt = Double.NaN;
        int lastCapacity = -1;
        /** The surge check's last look since the decision: seconds and arrivals since it, and whether its own window surged. */
        double checkedSeconds, checkedArrivals;
        boolean checkSurged;
    }

    public SlaPlanner(PlannerConfig config, Map<Pool, LatencyModel> models) {
        this.config = Objects.requireNonNull(config, "config");
        this.models = new EnumMap<>(Pool.class);
        this.models.putAll(models);
    }

    /** One model for every pool (workers of one profile). */
    public SlaPlanner(PlannerConfig config, LatencyModel model) {
        this(config, Map.of(Pool.AGGREGATED, model, Pool.PREFILL, model, Pool.DECODE, model));
    }

    @Override
    public String name() {
        return "sla";
    }

    public PlannerConfig config() {
        return config;
    }

    /** The corrections in use for a pool (for reports). */
    public Corrections corrections(Pool pool) {
        State s = states.get(pool);
        return s == null ? Corrections.NONE : s.corrections;
    }

    @Override
    public int workersForDemandAtZero(Pool pool) {
        return Math.max(1, config.minWorkers());
    }

    @Override
    public Decision decide(double now, PoolObservation obs, PoolFleet fleet) {
        Pool pool = obs.pool();
        LatencyModel model = models.get(pool);
        if (model == null) throw new IllegalArgumentException("no profile for the " + pool.roleName() + " pool");
        State s = states.computeIfAbsent(pool, p -> new State());
        TrafficCounters t = obs.traffic();
        double observedRate = obs.arrivals() / obs.intervalSeconds();
        // A surge: twice the requests forecast for this interval, and more than three deviations of the counts' noise
        // over (at least Poisson's; more for requests that come in batches). Sizing then covers at least the rate seen
        // (a smooth predictor would take intervals to catch up with a burst).
        double expected = s.rate.observations() == 0 ? Double.NaN : Math.max(0, s.rate.forecast(1)) * obs.intervalSeconds();
        double seen = observedRate * obs.intervalSeconds();
        boolean surge = surges(seen, expected, s.arrivals.indexOfDispersion(), SURGE_DEVIATIONS);
        // The load: the count less the part of its deviation that is the arrivals' noise (a batch that landed in this
        // interval is not a higher rate; sized for, it keeps a worker for the scale-down delay after it has passed).
        double loadRate = s.arrivals.load(seen, expected) / obs.intervalSeconds();
        s.arrivals.observe(seen);
        observe(s, t, loadRate);
        s.checkedSeconds = 0;
        s.checkedArrivals = 0;
        s.checkSurged = false;
        if (config.corrections()) correct(s, model, pool, obs);

        int current = fleet.capacity();
        int min = config.minWorkers(), max = config.maxWorkers();
        // The delay runs once every worker asked for serves: a worker still starting is not cancelled by a dip.
        if (Double.isNaN(s.grewAt) || current > s.lastCapacity || fleet.starting() > 0) s.grewAt = now;
        Workload base = s.shape.at(0);
        int up = min;
        double peakRate = 0;
        // The rate's noise (requests per second squared) that the trend is weighed against: the measured count noise
        // at the interval's forecast count, in rate units.
        double interval = obs.intervalSeconds();
        double rateNoise = Double.isNaN(expected) ? 0 : s.arrivals.noise(Math.max(1, s.rate.forecast(1) * interval)) / (interval * interval);
        for (int h = 1; h <= config.horizonIntervals(); h++) {
            double rate = active(s.rate.forecast(h, rateNoise));
            peakRate = Math.max(peakRate, rate);
            up = Math.max(up, model.smallestPool(pool, base.withRequestRate(rate), config.slo(), s.corrections, min, max));
        }
        if (surge) {
            up = Math.max(up, model.smallestPool(pool, base.withRequestRate(active(observedRate)), config.slo(), s.corrections, min, max));
            peakRate = Math.max(peakRate, observedRate);
        }
        // Requests waiting in front of the pool are work on top of the arrivals: sized to be cleared over the time a
        // worker takes to come, or longer (--backlog-seconds).
        double backlogRate = obs.heldRequests() / config.backlogClearSeconds();
        double nearRate = Math.max(active(s.rate.forecast(1, rateNoise)), active(surge ? observedRate : loadRate));
        if (backlogRate > 0) {
            double withBacklog = nearRate + backlogRate;
            up = Math.max(up, model.smallestPool(pool, base.withRequestRate(withBacklog), config.slo(), s.corrections, min, max));
            peakRate = Math.max(peakRate, withBacklog);
        }
        if (obs.heldRequests() > 0 && current == 0) up = Math.max(up, workersForDemandAtZero(pool));
        // Never below what the rate just observed needs (a falling trend, Holt's after a burst, overshoots downwards),
        // nor while a backlog waits below what clears it.
        int downNow = model.smallestPool(pool, base.withRequestRate(nearRate + backlogRate), config.slo().scaled(config.scaleDownMargin()),
                s.corrections, min, max);
        s.downSizes.addLast(new double[] {now, Math.max(downNow, up)});
        while (!s.downSizes.isEmpty() && s.downSizes.peekFirst()[0] < now - config.scaleDownDelaySeconds() - 1e-9) s.downSizes.removeFirst();
        int windowMax = 0;
        for (double[] d : s.downSizes) windowMax = Math.max(windowMax, (int) d[1]);

        int target;
        Decision.Reason reason;
        if (up > current) {
            target = up;
            reason = obs.heldRequests() > 0 && current == 0 ? Decision.Reason.DEMAND_AT_ZERO : Decision.Reason.SCALE_UP;
        } else if (windowMax < current && now - s.grewAt >= config.scaleDownDelaySeconds() - 1e-9) {
            target = Math.max(min, windowMax);
            reason = Decision.Reason.SCALE_DOWN;
        } else {
            target = current;
            reason = Decision.Reason.HOLD;
        }
        target = Math.clamp(target, min, max);
        if (target > current) s.grewAt = now;
        s.lastCapacity = target;
        Estimate predicted = model.estimate(pool, base.withRequestRate(peakRate), Math.max(target, 1), s.corrections, config.slo());
        if (target == max && !predicted.meets(config.slo()) && peakRate > 0) reason = Decision.Reason.AT_MAXIMUM;
        if (target == current && reason != Decision.Reason.AT_MAXIMUM) reason = Decision.Reason.HOLD;
        return decision(now, obs, current, target, reason, observedRate, peakRate, predicted, s.corrections);
    }

    /**
     * Whether {@code seen} requests are a surge over the {@code expected} ones: twice as many, and more than
     * {@code deviations} standard deviations of the counts' noise over (at least Poisson's, {@code dispersion} x the
     * expected count for requests that come in batches). Never before the first forecast (NaN).
     */
    static boolean surges(double seen, double expected, double dispersion, double deviations) {
        if (Double.isNaN(expected)) return false;
        double noise = (dispersion > 1 ? dispersion : 1) * expected;
        return seen > 2 * expected && seen > expected + deviations * Math.sqrt(Math.max(1, noise));
    }

    /**
     * The fast surge check between decisions: the arrivals since the last decision against the forecast for that long,
     * by the decision's surge test at {@link #SURGE_CHECK_DEVIATIONS} deviations, in the window since its last look and in all since the decision, at two looks in a row (a batch lands within one second; a higher rate goes on), once the counts' noise is measured; in a surge the pool grows at once to
     * what the rate seen since and the requests waiting need, sized as a decision sizes a surge. The predictor, the
     * noise estimate and the corrections are left to the next decision.
     */
    @Override
    public Decision surge(double now, PoolObservation obs, PoolFleet fleet) {
        State s = states.get(obs.pool());
        if (s == null || s.rate.observations() == 0) return null;
        Pool pool = obs.pool();
        LatencyModel model = models.get(pool);
        double perSecond = Math.max(0, s.rate.forecast(1)), dispersion = s.arrivals.indexOfDispersion();
        // Not before the counts' noise is measured (a second difference needs three decisions): the strict threshold
        // is in its deviations, and Poisson's understates batchy arrivals (seeded batches passed it at the third interval).
        if (Double.isNaN(dispersion)) return null;
        double seen = obs.arrivals();
        // The last check's window alone: a batch lands within one; a higher rate goes on into the next.
        double window = obs.intervalSeconds() - s.checkedSeconds;
        boolean windowSurged = window > 0 && surges(Math.max(0, seen - s.checkedArrivals), perSecond * window, dispersion, SURGE_CHECK_DEVIATIONS);
        boolean sustained = windowSurged && s.checkSurged;
        s.checkedSeconds = obs.intervalSeconds();
        s.checkedArrivals = seen;
        s.checkSurged = windowSurged;
        if (!sustained || !surges(seen, perSecond * obs.intervalSeconds(), dispersion, SURGE_CHECK_DEVIATIONS)) return null;
        double observedRate = seen / obs.intervalSeconds();
        double rate = active(observedRate) + obs.heldRequests() / config.backlogClearSeconds();
        int min = config.minWorkers(), max = config.maxWorkers(), current = fleet.capacity();
        Workload base = s.shape.at(0);
        int target = model.smallestPool(pool, base.withRequestRate(rate), config.slo(), s.corrections, min, max);
        if (target <= current) return null;
        s.grewAt = now;
        s.lastCapacity = target;
        Estimate predicted = model.estimate(pool, base.withRequestRate(rate), target, s.corrections, config.slo());
        Decision.Reason reason = target == max && !predicted.meets(config.slo()) ? Decision.Reason.AT_MAXIMUM : Decision.Reason.SURGE;
        return decision(now, obs, current, target, reason, observedRate, rate, predicted, s.corrections);
    }

    /** The rate to size for: 0 below half a request per interval (the tail of a decaying forecast is not load). */
    private double active(double rate) {
        return rate * config.intervalSeconds() < IDLE_REQUESTS_PER_INTERVAL ? 0 : rate;
    }

    private Decision decision(double now, PoolObservation obs, int current, int target, Decision.Reason reason, double observedRate,
                              double forecast, Estimate predicted, Corrections k) {
        Pool pool = obs.pool();
        Decision d = new Decision(pool, now, current, target, reason, observedRate, forecast, predicted, k, obs);
        if (target != current) {
            LOG.info(() -> String.format("planner: %s pool %d -> %d workers (%s; observed %.2f req/s, forecast up to %.2f req/s%s)",
                    pool.roleName(), current, target, reason.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '), observedRate, forecast,
                    predicted == null || !predicted.feasible() ? "" : String.format("; predicted TTFT %.3f s, ITL %.4f s", predicted.ttft(), predicted.itl())));
        }
        return d;
    }

    private static void observe(State s, TrafficCounters t, double rate) {
        s.rate.observe(rate);
        s.shape.observe(t);
    }

    /**
     * Corrects the profile from the warm workers' interval: the factor that makes the model's mean ITL (then TTFT)
     * at their observed traffic match what they delivered, blended into the running factor. Not while the model
     * says the workers are overloaded, and not for an interval that began with a backlog on a warm worker
     * ({@link #backlogged}): latencies of queues measure the backlog, not the workers, and fitted on them the
     * corrections keep the pool too large long after the backlog has drained.
     */
    private void correct(State s, LatencyModel model, Pool pool, PoolObservation obs) {
        TrafficCounters w = obs.warmTraffic();
        if (obs.warmWorkers() < 1 || w.requests() == 0) return;
        Workload known = s.shape.at(0);
        if (backlogged(s.corrections, model, pool, obs, known.inputTokens(), config.slo().ttftSeconds())) return;
        Workload seen = new Workload(w.requests() / obs.intervalSeconds(), w.meanPromptTokens(), w.promptTokensVariance(),
                Double.isNaN(w.cachedFraction()) ? 0 : w.cachedFraction(),
                Double.isNaN(w.meanOutputTokens()) ? known.outputTokens() : w.meanOutputTokens(), 0, known.maxInputTokens());
        int n = obs.warmWorkers();
        double q = config.slo().attainment();
        // Overloaded (queues growing, not a steady state): the latencies say nothing about the workers' speed.
        if (!model.estimate(pool, seen, n, s.corrections, q).feasible()) return;
        if (pool.decodes() && w.decodeIntervals() >= MIN_CORRECTION_SAMPLES) {
            double k = fit(x -> model.estimate(pool, seen, n, s.corrections.withDecode(x), q).itlMean(), w.meanItlSeconds());
            s.corrections = s.corrections.withDecode(blend(s.corrections.decode(), k, w.decodedRequests()));
            Estimate e = model.estimate(pool, seen, n, s.corrections.withItlTail(1), config.slo());
            if (e.feasible() && !Double.isNaN(e.itlMiss()) && w.decodedRequests() > 0) {
                // ITL misses come in stalls: a long prompt's prefill chunks slow every request decoding on its worker
                // at once. The evidence is counted in batches (the independent events), not requests: one stalled batch
                // of 30 is one sign that the model is wrong, not 30, so a single long prompt does not swing the pool.
                double count = w.decodedRequests() / Math.max(1, e.batchPerWorker());
                s.itlMissesSeen = TAIL_DECAY * s.itlMissesSeen + count * (1 - w.itlWithin(config.slo().itlSeconds()));
                s.itlMissesPredicted = TAIL_DECAY * s.itlMissesPredicted + count * e.itlMiss();
                s.corrections = s.corrections.withItlTail((s.itlMissesSeen + 0.5) / (s.itlMissesPredicted + 0.5));
            }
        }
        if (pool.prefills() && w.firstTokens() >= MIN_CORRECTION_SAMPLES) {
            double k = w.reportsBusyTime() ? busyFit(model, pool, seen, n, s.corrections, w)
                    : fit(x -> model.estimate(pool, seen, n, s.corrections.withPrefill(x), q).ttftMean(), w.meanTtftSeconds());
            if (!Double.isNaN(k)) s.corrections = s.corrections.withPrefill(blend(s.corrections.prefill(), k, w.firstTokens()));
            // The tail: requests observed past the target versus the model's, beyond those too long for it alone.
            Estimate e = model.estimate(pool, seen, n, s.corrections.withWaitTail(1), config.slo());
            if (e.feasible() && !Double.isNaN(e.ttftMiss())) {
                double count = w.firstTokens();
                double seenMiss = count * (1 - w.ttftWithin(config.slo().ttftSeconds()));
                s.waitMissesSeen = TAIL_DECAY * s.waitMissesSeen + Math.max(0, seenMiss - count * e.ttftFloorMiss());
                s.waitMissesPredicted = TAIL_DECAY * s.waitMissesPredicted + count * (e.ttftMiss() - e.ttftFloorMiss());
                // Half a request of prior on both sides: a few intervals without any miss do not swing it.
                s.corrections = s.corrections.withWaitTail((s.waitMissesSeen + 0.5) / (s.waitMissesPredicted + 0.5));
            }
        }
    }

    /**
     * The prefill speed the workers' busy time says: their seconds in prompt steps per prompt token computed, over
     * the model's at the observed traffic (less what the decodes riding along those steps add, which is decode
     * work). Queueing is not in it, as it is in the time to first token: bursty arrivals that wait do not read as
     * slow prefill. NaN when the model says the pool cannot keep up.
     */
    static double busyFit(LatencyModel model, Pool pool, Workload seen, int workers, Corrections k, TrafficCounters warm) {
        double[] predicted = model.promptStepSecondsPerToken(pool, seen, workers, k);
        if (!(predicted[0] > 0)) return Double.NaN;
        return Math.clamp((warm.promptSecondsPerToken() - predicted[1]) / predicted[0], Corrections.MIN, Corrections.MAX);
    }

    /**
     * Whether the interval began with a backlog: requests waiting at the routers because every worker was busy, or
     * on a warm worker requests waiting for a decode slot (a decode pool) or more prompt tokens pending than it
     * computes within the TTFT target at its (corrected) profiled speed. A steady queue at the planned size clears
     * within the target; one that does not is what the latencies of the interval then measure.
     */
    static boolean backlogged(Corrections k, LatencyModel model, Pool pool, PoolObservation obs, double promptTokens, double ttftTarget) {
        if (obs.startHeldRequests() > 0) return true;
        if (!pool.prefills()) return obs.startWaitingRequests() > 0;
        double pending = obs.startPendingPrefillTokens();
        if (pending <= 0) return false;
        // Pending tokens are prompts of about the mean length, each computed on its own (not one long prompt).
        double prompt = Math.min(pending, Math.max(1, promptTokens));
        return k.prefill() * pending / prompt * model.performance().prefillSeconds(prompt) > ttftTarget;
    }

    private static double blend(double old, double observed, double requests) {
        double weight = Math.min(CORRECTION_WEIGHT, requests / (requests + SPEED_EVIDENCE_REQUESTS));
        return (1 - weight) * old + weight * observed;
    }

    /** The factor in [MIN, MAX] at which the (increasing) prediction equals {@code observed}, by bisection in log space. */
    static double fit(ToDoubleFunction<Double> predicted, double observed) {
        double lo = Math.log(Corrections.MIN), hi = Math.log(Corrections.MAX);
        if (!(observed > 0)) return 1;
        if (predicted.applyAsDouble(Corrections.MIN) >= observed) return Corrections.MIN;
        if (predicted.applyAsDouble(Corrections.MAX) <= observed) return Corrections.MAX;
        for (int i = 0; i < 40; i++) {
            double mid = (lo + hi) / 2;
            if (predicted.applyAsDouble(Math.exp(mid)) < observed) lo = mid;
            else hi = mid;
        }
        return Math.exp((lo + hi) / 2);
    }
}
