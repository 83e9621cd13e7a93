package ai.armature.cli;

import ai.armature.planner.PlannerConfig;
import ai.armature.planner.model.Slo;
import ai.armature.planner.predict.LoadPredictor;
import picocli.CommandLine.Option;

import java.time.Duration;

/**
 * The planner's options, shared by {@code planner} (real workers) and {@code simulate --planner} (virtual ones):
 * the same flags mean the same decisions. {@code --ttft-slo} and {@code --itl-slo} also judge static runs.
 */
final class PlanningOptions {

    @Option(names = "--ttft-slo", defaultValue = "" + PlannerConfig.DEFAULT_TTFT_SLO, description = "Time-to-first-token target in seconds. Default: ${DEFAULT-VALUE}.")
    double ttftSlo;

    @Option(names = "--itl-slo", defaultValue = "" + PlannerConfig.DEFAULT_ITL_SLO, description = "Mean inter-token latency target in seconds. Default: ${DEFAULT-VALUE}.")
    double itlSlo;

    @Option(names = "--slo-attainment", defaultValue = "" + PlannerConfig.DEFAULT_ATTAINMENT,
            description = "Share of requests that should meet both targets (latencies are predicted at that quantile). Default: ${DEFAULT-VALUE}.")
    double attainment;

    @Option(names = "--interval", defaultValue = "10s", converter = DurationConverter.class, description = "Time between planner decisions. Default: ${DEFAULT-VALUE}.")
    Duration interval;

    @Option(names = "--min-workers", defaultValue = "1", description = "Fewest workers per pool (0: scale to zero when idle). Default: ${DEFAULT-VALUE}.")
    int minWorkers;

    @Option(names = "--max-workers", defaultValue = "" + PlannerConfig.DEFAULT_MAX_WORKERS, description = "Most workers per pool. Default: ${DEFAULT-VALUE}.")
    int maxWorkers;

    @Option(names = "--worker-startup-seconds", defaultValue = "" + PlannerConfig.DEFAULT_STARTUP_SECONDS,
            description = "How long a started worker takes to serve; the planner acts that much earlier. Default: ${DEFAULT-VALUE}.")
    double startupSeconds;

    @Option(names = "--warmup-seconds", defaultValue = "" + PlannerConfig.DEFAULT_WARMUP_SECONDS,
            description = "A new worker's latencies do not correct the profile for this long. Default: ${DEFAULT-VALUE}.")
    double warmupSeconds;

    @Option(names = "--scale-down-delay", defaultValue = "60s", converter = DurationConverter.class,
            description = "A pool shrinks only to the largest size wanted over this long. Default: ${DEFAULT-VALUE}.")
    Duration scaleDownDelay;

    @Option(names = "--scale-down-margin", defaultValue = "" + PlannerConfig.DEFAULT_SCALE_DOWN_MARGIN,
            description = "Workers are removed only if the survivors are predicted within this share of the targets. Default: ${DEFAULT-VALUE}.")
    double scaleDownMargin;

    @Option(names = "--predictor", defaultValue = PlannerConfig.DEFAULT_PREDICTOR,
            description = "Load forecasting: constant, moving-average[:N] or holt[:ALPHA,BETA[,PHI]] (PHI < 1 damps the trend). Default: ${DEFAULT-VALUE}.")
    String predictor;

    @Option(names = "--no-correction", description = "Trust the profile: do not correct it from observed latencies.")
    boolean noCorrection;

    @Option(names = "--backlog-seconds", defaultValue = "0",
            description = {"Requests waiting in front of the pool (held, or at the routers) are sized to be cleared within this long,",
                    "at least --worker-startup-seconds and one --interval (0: that). Longer pays only where routers send the",
                    "newest first (--router-lifo-after). Default: ${DEFAULT-VALUE}."})
    double backlogSeconds;

    PlannerConfig config() {
        if (interval.toMillis() < 100) throw new IllegalArgumentException("--interval must be at least 100ms");
        return new PlannerConfig(interval.toMillis() / 1000.0, new Slo(ttftSlo, itlSlo, attainment), minWorkers, maxWorkers, startupSeconds,
                warmupSeconds, scaleDownDelay.toMillis() / 1000.0, scaleDownMargin, LoadPredictor.parse(predictor), !noCorrection, backlogSeconds);
    }
}
