package ai.armature.planner.model;

/**
 * The targets a pool is sized for: time to first token and mean inter-token latency of a request (seconds), and
 * the share of requests that should meet both ({@code attainment}, e.g. 0.99): latencies are predicted at that
 * quantile.
 */
public record Slo(double ttftSeconds, double itlSeconds, double attainment) {

    public Slo {
        if (!(ttftSeconds > 0) || Double.isInfinite(ttftSeconds)) throw new IllegalArgumentException("--ttft-slo must be > 0 seconds, got " + ttftSeconds);
        if (!(itlSeconds > 0) || Double.isInfinite(itlSeconds)) throw new IllegalArgumentException("--itl-slo must be > 0 seconds, got " + itlSeconds);
        if (!(attainment >= 0.5 && attainment < 1)) throw new IllegalArgumentException("--slo-attainment must be in [0.5, 1), got " + attainment);
    }

    /** Both targets scaled by {@code factor} (a stricter target for removing workers). */
    public Slo scaled(double factor) {
        return new Slo(ttftSeconds * factor, itlSeconds * factor, attainment);
    }
}
