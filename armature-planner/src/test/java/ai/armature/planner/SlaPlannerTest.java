package ai.armature.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

import org.junit.jupiter.api.Test;

import ai.armature.planner.model.Corrections;
import ai.armature.planner.model.Estimate;
import ai.armature.planner.model.LatencyModel;
import ai.armature.planner.model.Slo;
import ai.armature.planner.model.TestProfiles;
import ai.armature.planner.model.Workload;
import ai.armature.planner.predict.LoadPredictor;
import ai.armature.protocol.TrafficCounters;

/**
 * The SLA planner in a world that answers with the model's own predictions (optionally for a slower worker than
 * profiled), one test per weakness the issue lists for Dynamo's planner.
 */
class SlaPlannerTest {

    static final double INPUT = 2000, OUTPUT = 200;
    static final Slo SLO = new Slo(0.25, 0.02, 0.99);
    final LatencyModel model = TestProfiles.model();

    static PlannerConfig config() {
        return PlannerConfig.defaults().withSlo(SLO).withInterval(10).withWorkers(1, 200).withStartup(0).withWarmup(30)
                .withScaleDown(30, 0.8).withPredictor(LoadPredictor.parse("holt"));
    }

    static Workload workload(double rate) {
        return new Workload(rate, INPUT, 0, 0, OUTPUT);
    }

    /** An interval of steady traffic: {@code requests} arrive, get their first token after {@code ttft} and decode at {@code itl}. */
    static TrafficCounters traffic(long requests, double ttft, double itl) {
        return traffic(requests, ttft, itl, 0);
    }

    /** The same, with {@code late} of the requests getting their first token at three times the TTFT target instead. */
    static TrafficCounters traffic(long requests, double ttft, double itl, long late) {
        return traffic(requests, ttft, itl, late, 0);
    }

    /** The same, with {@code stalled} of the requests decoding at twice the ITL target instead. */
    static TrafficCounters traffic(long requests, double ttft, double itl, long late, long stalled) {
        long[] th = new long[TrafficCounters.BUCKET_BOUNDS.length + 1], ih = th.clone();
        if (requests == 0) return TrafficCounters.ZERO;
        th[TrafficCounters.bucketOf(ttft)] = requests - late;
        th[TrafficCounters.bucketOf(3 * SLO.ttftSeconds())] += late;
        ih[TrafficCounters.bucketOf(itl)] = requests - stalled;
        ih[TrafficCounters.bucketOf(2 * SLO.itlSeconds())] += stalled;
        long in = Math.round(requests * INPUT);
        return new TrafficCounters(requests, in, requests * INPUT * INPUT, requests, in, 0, requests * ttft, th, requests, 0,
                Math.round(requests * OUTPUT), requests * OUTPUT * OUTPUT, requests, Math.round(requests * (OUTPUT - 1)), requests * (OUTPUT - 1) * itl, ih);
    }

    /** {@code t} with busy time: prompt steps of {@code perToken} seconds for each of its prompt tokens, all computed. */
    static TrafficCounters withBusyTime(TrafficCounters t, double perToken) {
        return new TrafficCounters(t.requests(), t.promptTokens(), t.promptTokensSquared(), t.firstTokens(), t.firstTokenPromptTokens(),
                t.cachedPromptTokens(), t.ttftSeconds(), t.ttftHistogram(), t.finished(), t.failed(), t.outputTokens(), t.outputTokensSquared(),
                t.decodedRequests(), t.decodeIntervals(), t.decodeSeconds(), t.itlHistogram(), 2 * perToken * t.promptTokens(),
                perToken * t.promptTokens(), t.promptTokens(), (long) INPUT);
    }

    /** Workers that serve after the startup time, traffic as the model predicts for the true (maybe slower) worker. */
    final class World {
        final PlannerConfig cfg;
        final SlaPlanner planner;
        final DoubleUnaryOperator load;
        Corrections truth = Corrections.NONE;
        int serving;
        final List<Double> starting = new ArrayList<>();
        double now;
        final List<Decision> decisions = new ArrayList<>();
        /** Set to report this many slow new-worker samples in the next interval. */
        boolean newWorkerSlowSamples, slowSamplesCountAsWarm;
        /** The share of requests whose first token comes past the TTFT target whatever the model says (bursts it does not see). */
        double lateShare;
        /** Requests per interval whose mean ITL misses its target whatever the model says (a long prompt stalled their batch). */
        long stalled;
        /** Prompt tokens pending on a warm worker at the start of each interval (a backlog left by a burst). */
        long backlogTokens;
        /**
         * Requests per second one serving worker takes from the router ({@code --router-busy-prefill-tokens}); the rest
         * wait at the router, oldest first. Unbounded: the router sends every request on at once.
         */
        double admitPerWorker = Double.POSITIVE_INFINITY;
        /** Requests waiting in front of the pool now: held (no worker serves) or at the router (every worker busy). */
        long waitingInFront;
        /** Whether the workers report their busy time (native engines do, upstream ones do not). */
        boolean busyTime;
        /** Mean TTFT over the model's (bursty arrivals queue longer than it says; the workers are not slower). */
        double queueing = 1;

        World(PlannerConfig cfg, DoubleUnaryOperator load, int initial) {
            this.cfg = cfg;
            this.planner = new SlaPlanner(cfg, model);
            this.load = load;
            this.serving = initial;
        }

        Decision step() {
            double dt = cfg.intervalSeconds();
            now += dt;
            starting.removeIf(readyAt -> {
                if (readyAt <= now - dt) {
                    serving++;
                    return true;
                }
                return false;
            });
            double rate = load.applyAsDouble(now - dt / 2);
            long queued = waitingInFront + Math.round(rate * dt);
            long requests = serving == 0 ? 0
                    : Double.isInfinite(admitPerWorker) ? queued : Math.min(queued, (long) Math.floor(admitPerWorker * serving * dt));
            int startHeld = (int) waitingInFront;
            waitingInFront = queued - requests;
            TrafficCounters all, warm;
            if (serving == 0) {
                all = warm = TrafficCounters.ZERO;
            } else {
                Estimate e = model.estimate(Pool.AGGREGATED, workload(requests / dt), serving, truth, SLO.attainment());
                // Overloaded workers (while new ones start): queues grow, latencies are long, not infinite.
                warm = all = e.feasible() ? traffic(requests, queueing * e.ttftMean(), e.itlMean(), Math.round(requests * lateShare), Math.min(requests, stalled))
                        : traffic(requests, 30, 0.5);
                if (busyTime && e.feasible()) warm = all = withBusyTime(all, promptStepSecondsPerToken(e.batchPerWorker()));
                if (newWorkerSlowSamples) {
                    // A worker that just joined runs its first steps ten times slower (cold caches, migrated backlog).
                    TrafficCounters slow = traffic(50, 10 * e.ttftMean(), 10 * e.itlMean());
                    all = all.plus(slow);
                    if (slowSamplesCountAsWarm) warm = warm.plus(slow);
                }
            }
            PoolObservation obs = new PoolObservation(Pool.AGGREGATED, dt, all, warm, serving, (int) waitingInFront, 0, 0, 0,
                    backlogTokens > 0 ? (int) (backlogTokens / INPUT) : 0, backlogTokens, startHeld);
            Decision d = planner.decide(now, obs, new PoolFleet(serving, starting.size(), 0));
            int capacity = serving + starting.size();
            for (int i = capacity; i < d.target(); i++) {
                if (cfg.workerStartupSeconds() == 0) serving++;
                else starting.add(now + cfg.workerStartupSeconds());
            }
            for (int i = d.target(); i < capacity; i++) {
                if (!starting.isEmpty()) starting.removeLast();
                else serving--;
            }
            decisions.add(d);
            return d;
        }

        int capacity() {
            return serving + starting.size();
        }

        /**
         * The test profile's seconds of prompt steps per prompt token, by hand: per prompt its prefill (2 ms + 20 us a
         * token) and, in each of its chunks of 512 - B tokens, the B decodes riding along (their tokens at the
         * 512-token chunk's cost each, and 1 ns per sequence and context token past the profile's first 64), at the
         * true speeds.
         */
        double promptStepSecondsPerToken(double batch) {
            double chunks = Math.ceil(INPUT / (512 - batch)), context = INPUT + OUTPUT / 2;
            double perChunk = truth.prefill() * batch * TestProfiles.prefill(512) / 512 + truth.decode() * 1e-9 * batch * (context - 64);
            return (truth.prefill() * TestProfiles.prefill(INPUT) + chunks * perChunk) / INPUT;
        }

        long changes(int fromStep) {
            return decisions.subList(fromStep, decisions.size()).stream().filter(d -> d.target() != d.current()).count();
        }
    }

    int needed(double rate) {
        return model.smallestPool(Pool.AGGREGATED, workload(rate), SLO, Corrections.NONE, 1, 200);
    }

    @Test
    void steadyLoadGetsTheFewestWorkersThatMeetTheTargetsAndKeepsThem() {
        // 30 req/s with +-5% noise.
        World w = new World(config(), t -> 30 * (1 + 0.05 * Math.sin(t / 7.0)), 1);
        for (int i = 0; i < 60; i++) w.step();
        assertThat(w.capacity()).isBetween(needed(30 * 0.95), needed(30 * 1.05 * 1.05));
        assertThat(w.changes(10)).as("changes once settled").isLessThanOrEqualTo(1);
        Estimate e = model.estimate(Pool.AGGREGATED, workload(30 * 1.05), w.capacity(), Corrections.NONE, SLO.attainment());
        assertThat(e.meets(SLO)).isTrue();
        assertThat(w.planner.corrections(Pool.AGGREGATED).prefill()).isCloseTo(1, within(0.02));
        assertThat(w.planner.corrections(Pool.AGGREGATED).decode()).isCloseTo(1, within(0.02));
    }

    /**
     * Requests that come in batches make interval counts noisier than Poisson's (here about 5 times the variance at
     * the same mean). With a 120 s start-up the planner sizes for Holt's forecast 13 intervals ahead, whose trend
     * term multiplies each batch-heavy interval's deviation: fed the raw counts it asks for workers the level does not
     * need and keeps them for the scale-down delay. Deviations within the measured noise are mostly not load, so the
     * pool asks for fewer and changes less. Measured when the discount was added, on these series: fed the raw counts,
     * 100 changes and 38% worker-seconds over the level's need (this test fails); with the discount, 71 and 29%. It
     * does not hold the pool flat: a deviation of two noise deviations still passes four fifths whole.
     */
    @Test
    void batchesOfRequestsOnASteadyLevelAreMostlyNoise() {
        BatchyLevel b = sizeBatchyLevel(config().withStartup(120));
        assertThat(b.workerIntervals()).as("worker-intervals against the level's need of %d", b.levelNeeds()).isLessThan(Math.round(1.33 * b.levelNeeds()));
        assertThat(b.changes()).as("fleet changes in %d runs", BatchyLevel.RUNS).isLessThan(85);
    }

    /** What the planner held on {@link BatchyLevel#RUNS} seeded series of batchy counts on a level of 30 req/s. */
    record BatchyLevel(long workerIntervals, long changes, long levelNeeds) {
        static final int RUNS = 8;
    }

    private BatchyLevel sizeBatchyLevel(PlannerConfig config) {
        long workerIntervals = 0, changes = 0, levelNeeds = 0;
        int intervals = 120;
        for (int seed = 1; seed <= BatchyLevel.RUNS; seed++) {
            // 60 batches an interval, each of 1..9 requests (mean 5): 300 requests an interval, index of dispersion
            // E[X^2]/E[X] = (285/9)/5 = 6.3, a standard deviation of 44 requests (15%) an interval.
            java.util.Random r = new java.util.Random(seed);
            double[] counts = new double[intervals];
            for (int i = 0; i < intervals; i++) {
                int batches = 0;
                for (double p = r.nextDouble(), limit = Math.exp(-60); p > limit; p *= r.nextDouble()) batches++;
                for (int b = 0; b < batches; b++) counts[i] += 1 + r.nextInt(9);
            }
            World w = new World(config, t -> counts[(int) (t / 10)] / 10, needed(30));
            for (int i = 0; i < intervals; i++) {
                w.step();
                workerIntervals += w.capacity();
            }
            changes += w.changes(10);
            levelNeeds += (long) needed(30) * intervals;
        }
        return new BatchyLevel(workerIntervals, changes, levelNeeds);
    }

    /**
     * The same batches at a 120 s start-up with the planner's default predictor: the pool is sized for the largest
     * forecast over 13 intervals, so whatever trend the noise puts into Holt's is extrapolated by up to 4 intervals
     * of it, and every worker asked for on it costs a start-up. The trend is extrapolated only as far as it stands
     * out of the measured noise, and it is smoothed over about 10 intervals (beta 0.1): measured when this was added,
     * on these series, the previous default (beta 0.3, the trend extrapolated whole) held 4.0% more worker-intervals than the level needs
     * and changed the pool 12 times (this test fails); now 3.2% and 8.
     */
    @Test
    void theNoisesTrendIsNotExtrapolatedOverALongStartup() {
        BatchyLevel b = sizeBatchyLevel(config().withStartup(120).withPredictor(LoadPredictor.parse(PlannerConfig.DEFAULT_PREDICTOR)));
        assertThat(b.workerIntervals()).as("worker-intervals against the level's need of %d", b.levelNeeds()).isLessThan(Math.round(1.035 * b.levelNeeds()));
        assertThat(b.changes()).as("fleet changes in %d runs", BatchyLevel.RUNS).isLessThan(10);
    }

    /** Dynamo PR #9294: a per-worker threshold let 2 -> 1 through though the survivor then breached, and flapped. */
    @Test
    void survivorsAbsorbTheRemovedWorkersLoadSoTwoDoesNotFlapToOne() {
        // A load at which each of 2 workers is far under the targets but 1 alone breaches them.
        double rate = 0;
        for (double r = 1; r < 200; r += 0.5) {
            Estimate two = model.estimate(Pool.AGGREGATED, workload(r), 2, Corrections.NONE, SLO.attainment());
            Estimate one = model.estimate(Pool.AGGREGATED, workload(r), 1, Corrections.NONE, SLO.attainment());
            if (two.ttft() < 0.7 * SLO.ttftSeconds() && two.itl() < 0.7 * SLO.itlSeconds() && !one.meets(SLO)) {
                rate = r;
                break;
            }
        }
        assertThat(rate).as("such a load exists for this profile").isPositive();
        double r = rate;
        World w = new World(config(), t -> r, 2);
        for (int i = 0; i < 100; i++) w.step();
        assertThat(w.decisions).allSatisfy(d -> assertThat(d.target()).isEqualTo(2));
    }

    /** Dynamo #6985: with no traffic its metrics were NaN and it never scaled down. */
    @Test
    void whenTrafficStopsThePoolShrinksToTheMinimumAndWithZeroComesBackOnTheFirstRequest() {
        PlannerConfig cfg = config().withWorkers(0, 200);
        double[] rate = {40};
        World w = new World(cfg, t -> rate[0], 1);
        for (int i = 0; i < 20; i++) w.step();
        assertThat(w.capacity()).isGreaterThan(1);
        rate[0] = 0;
        int steps = 0;
        while (w.capacity() > 0 && steps < 30) {
            w.step();
            steps++;
        }
        assertThat(w.capacity()).isZero();
        // Holt's trend takes a few intervals to settle, then the scale-down delay (30 s) passes.
        assertThat(steps * cfg.intervalSeconds()).isLessThanOrEqualTo(cfg.scaleDownDelaySeconds() + 6 * cfg.intervalSeconds());
        for (int i = 0; i < 5; i++) assertThat(w.step().target()).isZero();
        // The first request while no worker is up: held, and a worker is asked for at once.
        Decision d = w.planner.decide(w.now + 1, new PoolObservation(Pool.AGGREGATED, 1, TrafficCounters.ZERO, TrafficCounters.ZERO, 0, 1, 0, 0, 0),
                new PoolFleet(0, 0, 0));
        assertThat(d.target()).isEqualTo(1);
        assertThat(d.reason()).isEqualTo(Decision.Reason.DEMAND_AT_ZERO);
        assertThat(w.planner.workersForDemandAtZero(Pool.AGGREGATED)).isEqualTo(1);

        // With a minimum of 1 it stops there.
        double[] r2 = {40};
        World one = new World(config(), t -> r2[0], 1);
        for (int i = 0; i < 20; i++) one.step();
        r2[0] = 0;
        for (int i = 0; i < 20; i++) one.step();
        assertThat(one.capacity()).isEqualTo(1);
    }

    /** Dynamo #12430: slow first samples of new workers made it over-provision. */
    @Test
    void newWorkersWarmUpSamplesDoNotInflateThePool() {
        World w = new World(config(), t -> 30, 1);
        for (int i = 0; i < 20; i++) w.step();
        int settled = w.capacity();
        w.newWorkerSlowSamples = true;
        for (int i = 0; i < 5; i++) w.step();
        assertThat(w.capacity()).isEqualTo(settled);
        assertThat(w.planner.corrections(Pool.AGGREGATED).decode()).isCloseTo(1, within(0.02));

        // The same samples from warm workers would mean the workers are slow: the planner would add some.
        World v = new World(config(), t -> 30, 1);
        for (int i = 0; i < 20; i++) v.step();
        v.newWorkerSlowSamples = true;
        v.slowSamplesCountAsWarm = true;
        for (int i = 0; i < 5; i++) v.step();
        assertThat(v.capacity()).isGreaterThan(settled);
    }

    /** Dynamo's replay benchmark: its SLA collapsed when workers took 100-120 s to start. */
    @Test
    void workersAreAskedForAStartupTimeBeforeTheLoadTheyServe() {
        DoubleUnaryOperator ramp = t -> 2 + 0.2 * t; // +2 req/s per 10 s interval
        PlannerConfig slowStart = config().withStartup(120);
        World w = new World(slowStart, ramp, needed(2));
        int horizon = slowStart.horizonIntervals();
        assertThat(horizon).isEqualTo(13);
        for (int i = 0; i < 40; i++) {
            w.step();
            if (i < 3) continue; // Holt needs two intervals to know the trend
            // What it asked for now must carry the load when those workers serve, until its next decision does.
            double at = w.now + 120 + 10;
            assertThat(w.capacity()).as("at %s s", w.now).isGreaterThanOrEqualTo(needed(ramp.applyAsDouble(at - 5)));
        }
        // The serving workers alone always met the targets at the load of the moment.
        World check = new World(slowStart, ramp, needed(2));
        for (int i = 0; i < 40; i++) {
            check.step();
            if (i < 15) continue; // the first requested workers serve after 120 s
            double rate = ramp.applyAsDouble(check.now - 5);
            assertThat(model.estimate(Pool.AGGREGATED, workload(rate), check.serving, Corrections.NONE, SLO.attainment()).meets(SLO))
                    .as("at %s s with %d serving", check.now, check.serving).isTrue();
        }
        // Without the lead the same planner asks for far fewer at the same moment.
        World late = new World(config(), ramp, needed(2));
        for (int i = 0; i < 40; i++) late.step();
        assertThat(late.capacity()).isLessThan(w.capacity());
    }

    @Test
    void aSurgeIsSizedForAtOnceNotWhenThePredictorCatchesUp() {
        double[] rate = {5};
        World w = new World(config(), t -> rate[0], 1);
        for (int i = 0; i < 20; i++) w.step();
        assertThat(w.capacity()).isLessThan(needed(50));
        rate[0] = 50;
        // Holt alone would forecast about 34 req/s after one interval at 50.
        assertThat(w.step().target()).isGreaterThanOrEqualTo(needed(50));

        // Poisson-sized noise on a steady load is no surge: the pool holds.
        World n = new World(config(), t -> 30 + (((int) (t / 10)) % 2 == 0 ? 2 : -2), 1);
        for (int i = 0; i < 20; i++) n.step();
        assertThat(n.changes(5)).isLessThanOrEqualTo(1);
    }

    /** What the surge check sees {@code seconds} after a decision: {@code arrived} requests since it, none waiting. */
    static PoolObservation since(double seconds, long arrived) {
        TrafficCounters t = arrived == 0 ? TrafficCounters.ZERO : traffic(arrived, 0.1, 0.01);
        return new PoolObservation(Pool.AGGREGATED, seconds, t, t, 1, 0, 0, 0, 0);
    }

    /**
     * A step from 5 to 50 req/s just after a decision: the check between decisions sees it in its second second (one
     * second alone may be a batch) and asks at once for what 50 req/s needs, instead of an interval later.
     */
    @Test
    void aStepInLoadBetweenDecisionsStartsWorkersBeforeTheNextDecision() {
        World w = new World(config(), t -> 5, 1);
        for (int i = 0; i < 20; i++) w.step();
        int before = w.capacity();
        assertThat(before).isLessThan(needed(50));
        PoolFleet fleet = new PoolFleet(w.serving, 0, 0);
        assertThat(w.planner.surge(w.now + 1, since(1, 50), fleet)).as("one second could be a batch").isNull();
        Decision d = w.planner.surge(w.now + 2, since(2, 100), fleet);
        assertThat(d).isNotNull();
        assertThat(d.reason()).isEqualTo(Decision.Reason.SURGE);
        assertThat(d.current()).isEqualTo(before);
        assertThat(d.target()).isGreaterThanOrEqualTo(needed(50));
        // The next decision sees the whole interval at 50 req/s and keeps what the check asked for.
        assertThat(w.planner.decide(w.now + 10, new PoolObservation(Pool.AGGREGATED, 10, traffic(500, 0.1, 0.01), traffic(500, 0.1, 0.01),
                before, 0, 0, 0, 0), new PoolFleet(before, d.target() - before, 0)).target()).isGreaterThanOrEqualTo(d.target());
        // Never down: a check at a load the pool serves asks for nothing.
        World idle = new World(config(), t -> 30, needed(60));
        for (int i = 0; i < 5; i++) idle.step();
        assertThat(idle.planner.surge(idle.now + 3, since(3, 30), new PoolFleet(needed(60), 0, 0))).isNull();
    }

    /**
     * The check looks up to nine times an interval, so noise passes it that would not pass a decision's test once. It
     * is stricter: five deviations of the counts' measured noise, in the window since its last look and in all since
     * the decision, two looks in a row, and only once the noise is measured (three decisions). Batchy arrivals (batches of 1..9 requests, 30 req/s, index of dispersion 6.3,
     * seeded) over 8 x 100 intervals never pass it; nor does one batch of 19 requests in a second at 3 req/s (the
     * Mooncake trace's: with one look instead of two it asked for 23 workers at 5 serving).
     */
    @Test
    void batchyOrPoissonNoiseDoesNotTriggerTheSurgeCheck() {
        int surges = 0;
        for (int seed = 1; seed <= 8; seed++) {
            java.util.Random r = new java.util.Random(seed);
            World w = new World(config(), t -> 30, needed(30));
            for (int i = 0; i < 100; i++) {
                long sinceDecision = 0;
                for (int second = 1; second <= 10; second++) {
                    int batches = 0;
                    for (double p = r.nextDouble(), limit = Math.exp(-6); p > limit; p *= r.nextDouble()) batches++;
                    for (int b = 0; b < batches; b++) sinceDecision += 1 + r.nextInt(9);
                    if (second < 10 && w.planner.surge(w.now + second, since(second, sinceDecision), new PoolFleet(w.serving, 0, 0)) != null) surges++;
                }
                long count = sinceDecision;
                TrafficCounters t = traffic(count, 0.1, 0.01);
                w.now += 10;
                w.planner.decide(w.now, new PoolObservation(Pool.AGGREGATED, 10, t, t, w.serving, 0, 0, 0, 0), new PoolFleet(w.serving, 0, 0));
            }
        }
        assertThat(surges).as("surge checks passed by noise").isZero();

        World m = new World(config(), t -> 3, 1);
        for (int i = 0; i < 20; i++) m.step();
        PoolFleet fleet = new PoolFleet(m.serving, 0, 0);
        long[] arrived = {19, 22, 25, 28, 31, 34, 37, 40, 43};
        for (int second = 1; second <= 9; second++) {
            assertThat(m.planner.surge(m.now + second, since(second, arrived[second - 1]), fleet)).as("second %d", second).isNull();
        }
    }

    /**
     * A router that holds requests back while every worker is busy lets through only what the workers take: sized on
     * the admitted requests alone, the planner would see a burst at the rate the old workers absorb, then the
     * released backlog as a second, larger one (the burst simulation: 27 workers instead of 8). The arrivals are the
     * admitted requests plus the change in those waiting, so the burst is seen when it comes, at its rate; and the
     * requests waiting are work on top of it, sized to be cleared within a start-up time, then no longer.
     */
    @Test
    void requestsWaitingAtTheRouterAreDemandWhenTheyArriveNotWhenTheyAreLetThrough() {
        double[] rate = {5};
        World free = new World(config().withStartup(20), t -> rate[0], 1);
        World held = new World(config().withStartup(20), t -> rate[0], 1);
        // A busy worker computes more than the rate it serves within the targets (about 10 requests/s on this profile).
        held.admitPerWorker = 15;
        for (int i = 0; i < 20; i++) {
            free.step();
            held.step();
        }
        assertThat(held.waitingInFront).isZero();
        assertThat(held.capacity()).isEqualTo(free.capacity());
        rate[0] = 50;
        Decision f = free.step(), h = held.step();
        assertThat(h.observed().traffic().requests()).as("admitted in the burst's first interval").isEqualTo(150);
        assertThat(held.waitingInFront).as("waiting at the router").isEqualTo(350);
        assertThat(h.observedRate()).isCloseTo(50, within(1e-9));
        assertThat(f.target()).isGreaterThanOrEqualTo(needed(50));
        assertThat(h.target()).as("and workers to clear the 350 waiting").isEqualTo(
                model.smallestPool(Pool.AGGREGATED, workload(h.forecastRate()), SLO, Corrections.NONE, 1, 200)).isGreaterThan(f.target());
        assertThat(h.forecastRate()).isGreaterThanOrEqualTo(50 + 350 / 20.0);
        boolean drained = false;
        for (int i = 0; i < 10; i++) {
            f = free.step();
            h = held.step();
            // While the backlog drains the workers admit more than arrives; the rate seen stays the arrivals'.
            drained |= h.observed().traffic().requests() > 500;
            assertThat(h.observedRate()).isCloseTo(50, within(1e-9));
            assertThat(held.capacity()).as("at %s s", held.now).isGreaterThanOrEqualTo(free.capacity());
        }
        assertThat(drained).as("the backlog went out to the new workers").isTrue();
        assertThat(held.waitingInFront).isZero();
        for (int i = 0; i < 10; i++) {
            free.step();
            held.step();
        }
        assertThat(held.capacity()).as("once cleared, what the arrivals need").isEqualTo(free.capacity());
    }

    /**
     * {@code --backlog-seconds}: the requests waiting in front of the pool are sized to be cleared over that long instead
     * of the start-up time, so fewer workers come for them, and they are still cleared; below the start-up time it
     * changes nothing.
     */
    @Test
    void aLongerBacklogTimeAsksFewerWorkersForTheSameBacklogAndStillClearsIt() {
        double[] rate = {5};
        World fast = new World(config().withStartup(20), t -> rate[0], 1);
        World slow = new World(config().withStartup(20).withBacklogSeconds(60), t -> rate[0], 1);
        World same = new World(config().withStartup(20).withBacklogSeconds(15), t -> rate[0], 1);
        for (World w : new World[] {fast, slow, same}) w.admitPerWorker = 15;
        for (int i = 0; i < 20; i++) {
            fast.step();
            slow.step();
            same.step();
        }
        assertThat(slow.cfg.backlogClearSeconds()).isEqualTo(60);
        assertThat(same.cfg.backlogClearSeconds()).as("at least the start-up time").isEqualTo(20);
        rate[0] = 50;
        Decision f = fast.step(), s = slow.step(), m = same.step();
        assertThat(slow.waitingInFront).isEqualTo(350);
        assertThat(f.forecastRate()).isGreaterThanOrEqualTo(50 + 350 / 20.0);
        assertThat(s.forecastRate()).isGreaterThanOrEqualTo(50 + 350 / 60.0).isLessThan(f.forecastRate());
        assertThat(s.target()).isEqualTo(model.smallestPool(Pool.AGGREGATED, workload(s.forecastRate()), SLO, Corrections.NONE, 1, 200))
                .isLessThan(f.target());
        assertThat(m.target()).isEqualTo(f.target());
        for (int i = 0; i < 30 && slow.waitingInFront > 0; i++) slow.step();
        assertThat(slow.waitingInFront).as("the backlog is still cleared").isZero();
        assertThatThrownBy(() -> config().withBacklogSeconds(-1)).hasMessageContaining("--backlog-seconds");
    }

    @Test
    void moreRequestsPastTheTtftTargetThanThePredictedTailAddWorkers() {
        // A load whose smallest pool the model says lets a few (0.2% or more, under the 1% allowed) wait past the target.
        double rate = 0;
        for (double r = 10; r < 100 && rate == 0; r += 1) {
            Estimate e = model.estimate(Pool.AGGREGATED, workload(r), needed(r), Corrections.NONE, SLO);
            if (e.ttftMiss() > 0.002) rate = r;
        }
        assertThat(rate).as("such a load exists for this profile").isPositive();
        double r = rate;
        World w = new World(config(), t -> r, 1);
        for (int i = 0; i < 20; i++) w.step();
        int settled = w.capacity();
        assertThat(w.planner.corrections(Pool.AGGREGATED).waitTail()).isLessThanOrEqualTo(1);
        // 3% of requests wait past the target, more than the model says.
        w.lateShare = 0.03;
        for (int i = 0; i < 10; i++) w.step();
        assertThat(w.planner.corrections(Pool.AGGREGATED).waitTail()).isGreaterThan(1);
        assertThat(w.capacity()).isGreaterThan(settled);
    }

    /**
     * Workers that begin every interval with a queue left by a burst deliver long TTFTs and many misses: those measure
     * the queue, not the workers, so they correct neither the speed nor the tail and the pool stays what the load
     * needs (the burst simulation: corrections fitted on a backlog cost 1,200-1,400 worker-seconds for nothing).
     */
    @Test
    void intervalsThatBeginWithABacklogCorrectNothing() {
        World queued = new World(config(), t -> 30, 1);
        queued.truth = new Corrections(2, 1);  // the queue doubles the TTFT...
        queued.lateShare = 0.05;               // ...and 5% wait past the target
        queued.backlogTokens = 50 * (long) INPUT;
        for (int i = 0; i < 20; i++) queued.step();
        assertThat(queued.planner.corrections(Pool.AGGREGATED)).isEqualTo(Corrections.NONE);
        assertThat(queued.capacity()).isEqualTo(needed(30));

        // The same latencies from intervals that begin with nothing waiting are the workers' own: learned, more workers.
        World steady = new World(config(), t -> 30, 1);
        steady.truth = queued.truth;
        steady.lateShare = queued.lateShare;
        for (int i = 0; i < 20; i++) steady.step();
        assertThat(steady.planner.corrections(Pool.AGGREGATED).prefill()).isGreaterThan(1.5);
        assertThat(steady.planner.corrections(Pool.AGGREGATED).waitTail()).isGreaterThan(1);
        assertThat(steady.capacity()).isGreaterThan(needed(30));
    }

    @Test
    void aBacklogIsMorePendingPromptThanTheTtftTargetComputes() {
        // 2000-token prompts take 42 ms each on this profile: 5 of them clear within the 0.25 s target, 7 do not.
        assertThat(SlaPlanner.backlogged(Corrections.NONE, model, Pool.AGGREGATED, pending(5 * 2000, 0), INPUT, SLO.ttftSeconds())).isFalse();
        assertThat(SlaPlanner.backlogged(Corrections.NONE, model, Pool.AGGREGATED, pending(7 * 2000, 0), INPUT, SLO.ttftSeconds())).isTrue();
        assertThat(SlaPlanner.backlogged(Corrections.NONE, model, Pool.AGGREGATED, pending(0, 0), INPUT, SLO.ttftSeconds())).isFalse();
        // A worker learned to be twice as slow clears only half as much.
        assertThat(SlaPlanner.backlogged(new Corrections(2, 1), model, Pool.AGGREGATED, pending(5 * 2000, 0), INPUT, SLO.ttftSeconds())).isTrue();
        // Decode workers (no prompts of their own): any request waiting for a slot is a backlog.
        assertThat(SlaPlanner.backlogged(Corrections.NONE, model, Pool.DECODE, pending(0, 1), INPUT, SLO.ttftSeconds())).isTrue();
        assertThat(SlaPlanner.backlogged(Corrections.NONE, model, Pool.DECODE, pending(50_000, 0), INPUT, SLO.ttftSeconds())).isFalse();
    }

    static PoolObservation pending(long tokens, int waiting) {
        return new PoolObservation(Pool.AGGREGATED, 10, TrafficCounters.ZERO, TrafficCounters.ZERO, 1, 0, 1, waiting, 0, waiting, tokens, 0);
    }

    /**
     * The Mooncake trace brings 30 requests an interval whose mean TTFT is set by its few longest prompts: fitted at
     * full weight on each interval, the speed corrections swung between 0.7 and 2.4 at an exact profile and the pool
     * between 6 and 16 workers. An interval's fit weighs by the requests behind it: one odd interval of a few dozen
     * moves the correction little, the same slowness kept up is learned, and a busy interval weighs as much as ever.
     */
    @Test
    void aFewDozenRequestsMoveTheSpeedCorrectionsLittleAndPersistentSlownessIsStillLearned() {
        World few = new World(config(), t -> 3, needed(3));
        for (int i = 0; i < 20; i++) few.step();
        few.truth = new Corrections(3, 1); // one interval of 30 requests took three times as long to their first token
        few.step();
        few.truth = Corrections.NONE;
        assertThat(few.planner.corrections(Pool.AGGREGATED).prefill()).isBetween(1.0, 1.3);

        World slow = new World(config(), t -> 3, needed(3));
        slow.truth = new Corrections(2, 1);
        for (int i = 0; i < 60; i++) slow.step();
        assertThat(slow.planner.corrections(Pool.AGGREGATED).prefill()).isCloseTo(2, within(0.2));

        World busy = new World(config(), t -> 30, needed(30));
        for (int i = 0; i < 20; i++) busy.step();
        busy.truth = new Corrections(2, 1); // 300 requests
        busy.step();
        assertThat(busy.planner.corrections(Pool.AGGREGATED).prefill()).isGreaterThan(1.25);
    }

    /**
     * A long prompt's prefill stalls every request decoding on its worker at once: its misses are one event, not one
     * per request. Counted per request, one stalled batch read as dozens of independent misses against a model that
     * predicted almost none, and the ITL-tail correction jumped to its maximum. Counted per batch it moves a little;
     * stalls in every interval are still learned.
     */
    @Test
    void aStalledBatchIsOneMissOfTheItlTailNotOnePerRequest() {
        double rate = 30;
        int n = needed(rate);
        long batch = Math.round(model.estimate(Pool.AGGREGATED, workload(rate), n, Corrections.NONE, SLO.attainment()).batchPerWorker());
        assertThat(batch).isGreaterThan(5);
        World once = new World(config(), t -> rate, n);
        for (int i = 0; i < 20; i++) once.step();
        once.stalled = batch;
        once.step();
        once.stalled = 0;
        assertThat(once.planner.corrections(Pool.AGGREGATED).itlTail()).isLessThan(3);
        for (int i = 0; i < 10; i++) once.step();
        assertThat(once.capacity()).isLessThanOrEqualTo(n + 1);

        World always = new World(config(), t -> rate, n);
        always.stalled = batch;
        for (int i = 0; i < 30; i++) always.step();
        assertThat(always.planner.corrections(Pool.AGGREGATED).itlTail()).isGreaterThan(3);
    }

    @Test
    void aSlowerWorkerThanProfiledIsLearnedFromWhatItDelivers() {
        World w = new World(config(), t -> 30, 1);
        w.truth = new Corrections(1.5, 1.5);
        for (int i = 0; i < 40; i++) w.step();
        Corrections k = w.planner.corrections(Pool.AGGREGATED);
        assertThat(k.decode()).isCloseTo(1.5, within(0.1));
        assertThat(k.prefill()).isCloseTo(1.5, within(0.15));
        int truthNeeds = model.smallestPool(Pool.AGGREGATED, workload(30), SLO, w.truth, 1, 200);
        assertThat(w.capacity()).isBetween(truthNeeds, truthNeeds + 1);
        assertThat(w.capacity()).isGreaterThan(needed(30));
    }

    /**
     * Arrivals that queue longer than the model's Poisson queue says (the Mooncake trace's batches) raise the mean
     * TTFT, not the workers' busy time per prompt token: fitted to the TTFT the planner reads them as slow prefill
     * and grows the pool; fitted to the busy time it does not, and still learns a worker that is really slower.
     */
    @Test
    void theBusyTimeTellsQueueingFromSlowPrefill() {
        World ttft = new World(config(), t -> 30, needed(30));
        ttft.queueing = 1.6;
        for (int i = 0; i < 40; i++) ttft.step();
        assertThat(ttft.planner.corrections(Pool.AGGREGATED).prefill()).as("queueing read as slow prefill").isGreaterThan(1.3);

        World busy = new World(config(), t -> 30, needed(30));
        busy.queueing = 1.6;
        busy.busyTime = true;
        for (int i = 0; i < 40; i++) busy.step();
        assertThat(busy.planner.corrections(Pool.AGGREGATED).prefill()).isCloseTo(1, within(0.01));
        assertThat(busy.capacity()).isLessThan(ttft.capacity());

        World slow = new World(config(), t -> 30, 1);
        slow.truth = new Corrections(1.5, 1);
        slow.busyTime = true;
        for (int i = 0; i < 40; i++) slow.step();
        assertThat(slow.planner.corrections(Pool.AGGREGATED).prefill()).isCloseTo(1.5, within(0.05));
    }

    @Test
    void aWorkerJustStartedIsNotRemovedWithinTheScaleDownDelay() {
        SlaPlanner p = new SlaPlanner(config().withWorkers(0, 10), model);
        PoolObservation idle = PoolObservation.idle(Pool.AGGREGATED, 10);
        // A worker was started (by a request held at zero, or to bootstrap): the next idle intervals keep it.
        assertThat(p.decide(10, idle, new PoolFleet(0, 1, 0)).target()).isEqualTo(1);
        assertThat(p.decide(100, idle, new PoolFleet(0, 1, 0)).target()).as("still starting").isEqualTo(1);
        assertThat(p.decide(110, idle, new PoolFleet(1, 0, 0)).target()).isEqualTo(1);
        assertThat(p.decide(120, idle, new PoolFleet(1, 0, 0)).target()).isEqualTo(1);
        assertThat(p.decide(130, idle, new PoolFleet(1, 0, 0)).target()).as("30 s after it serves").isZero();
    }

    @Test
    void theDecayingTailOfAForecastNeitherKeepsNorStartsAWorker() {
        // One request, then nothing: Holt's level and trend decay towards 0 with tiny positive and negative values.
        World w = new World(config().withWorkers(0, 10), t -> t < 10 ? 0.2 : 0, 1);
        for (int i = 0; i < 15; i++) w.step();
        assertThat(w.capacity()).isZero();
        for (int i = 0; i < 50; i++) assertThat(w.step().target()).as("interval %d at zero", i).isZero();
    }

    @Test
    void aLoadBeyondTheMaximumGetsTheMaximumAndSaysSo() {
        World w = new World(config().withWorkers(1, 3), t -> 500, 1);
        Decision d = null;
        for (int i = 0; i < 3; i++) d = w.step();
        assertThat(w.capacity()).isEqualTo(3);
        assertThat(d.reason()).isEqualTo(Decision.Reason.AT_MAXIMUM);
    }

    @Test
    void withoutAnyRequestYetThePoolStaysAtTheMinimum() {
        World w = new World(config().withWorkers(2, 10), t -> 0, 0);
        assertThat(w.step().target()).isEqualTo(2);
        for (int i = 0; i < 10; i++) assertThat(w.step().target()).isEqualTo(2);
    }
}
