package ai.armature.planner.predict;

/**
 * Holt's double exponential smoothing: a level and a trend, each an exponentially weighted average, and the
 * forecast {@code h} intervals ahead is {@code level + h * trend}. Initialised from the first two observations
 * (level = the second, trend = their difference), so a series that is exactly linear is forecast exactly from then
 * on. With each later observation y:
 * <pre>
 *   level' = alpha * y + (1 - alpha) * (level + trend)
 *   trend' = beta * (level' - level) + (1 - beta) * trend
 * </pre>
 * Larger alpha follows the latest value faster; larger beta turns the trend faster (and overshoots more after a
 * burst ends). After one observation the forecast is that value.
 */
public final class HoltPredictor implements LoadPredictor {

    public static final double DEFAULT_ALPHA = 0.5;
    public static final double DEFAULT_BETA = 0.3;

    private final double alpha, beta;
    private double level = Double.NaN, trend;
    private long n;

    public HoltPredictor(double alpha, double beta) {
        if (!(alpha > 0 && alpha <= 1)) throw new IllegalArgumentException("Holt's alpha must be in (0, 1], got " + alpha);
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("Holt's beta must be in [0, 1], got " + beta);
        this.alpha = alpha;
        this.beta = beta;
    }

    @Override
    public void observe(double y) {
        if (n == 0) {
            level = y;
            trend = 0;
        } else if (n == 1) {
            trend = y - level;
            level = y;
        } else {
            double previous = level;
            level = alpha * y + (1 - alpha) * (level + trend);
            trend = beta * (level - previous) + (1 - beta) * trend;
        }
        n++;
    }

    @Override
    public double forecast(int stepsAhead) {
        if (stepsAhead < 1) throw new IllegalArgumentException("forecasts look at least one interval ahead, got " + stepsAhead);
        return level + stepsAhead * trend;
    }

    /** The smoothed level (NaN before any observation). */
    public double level() {
        return level;
    }

    /** The smoothed change per interval. */
    public double trend() {
        return trend;
    }

    @Override
    public long observations() {
        return n;
    }

    @Override
    public LoadPredictor fresh() {
        return new HoltPredictor(alpha, beta);
    }

    @Override
    public String spec() {
        return "holt:" + alpha + "," + beta;
    }
}
