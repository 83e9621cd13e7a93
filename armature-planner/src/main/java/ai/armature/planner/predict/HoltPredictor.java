package ai.armature.planner.predict;

/**
 * Holt's double exponential smoothing: a level and a trend, each an exponentially weighted average, with the trend
 * optionally damped by {@code phi} (Gardner and McKenzie's damped trend): the forecast {@code h} intervals ahead is
 * {@code level + (phi + phi^2 + ... + phi^h) * trend}, so with phi below 1 the trend adds at most
 * {@code phi / (1 - phi)} intervals' worth however far ahead; phi 1 is Holt's linear trend. Initialised from the
 * first two observations (level = the second, trend = their difference), so with phi 1 a series that is exactly
 * linear is forecast exactly from then on. With each later observation y:
 * <pre>
 *   level' = alpha * y + (1 - alpha) * (level + phi * trend)
 *   trend' = beta * (level' - level) + (1 - beta) * phi * trend
 * </pre>
 * Larger alpha follows the latest value faster; larger beta turns the trend faster (and overshoots more after a
 * burst ends). After one observation the forecast is that value. The damping matters for planners that look far
 * ahead (a worker start-up of many intervals): an undamped trend fitted on a burst's rise is extrapolated over the
 * whole start-up.
 */
public final class HoltPredictor implements LoadPredictor {

    public static final double DEFAULT_ALPHA = 0.5;
    public static final double DEFAULT_BETA = 0.3;

    private final double alpha, beta, phi;
    /** The trend's variance per unit variance of independent noise in the observations, on a series with no trend. */
    private final double trendNoiseGain;
    private double level = Double.NaN, trend;
    private long n;

    /** Holt's linear trend (not damped). */
    public HoltPredictor(double alpha, double beta) {
        this(alpha, beta, 1);
    }

    public HoltPredictor(double alpha, double beta, double phi) {
        if (!(alpha > 0 && alpha <= 1)) throw new IllegalArgumentException("Holt's alpha must be in (0, 1], got " + alpha);
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("Holt's beta must be in [0, 1], got " + beta);
        if (!(phi > 0 && phi <= 1)) throw new IllegalArgumentException("Holt's damping phi must be in (0, 1], got " + phi);
        this.alpha = alpha;
        this.beta = beta;
        this.phi = phi;
        this.trendNoiseGain = trendNoiseGain(alpha, beta, phi);
    }

    /**
     * The steady-state variance of the trend when the observations are independent noise of variance 1 around a
     * constant: the trend is a linear filter of the observations, so it is the sum of its squared weights, read from
     * the filter's response to one unit impulse (the recursion is stable for alpha, beta in (0, 1] and phi &lt;= 1
     * except alpha = beta = phi = 1, whose response does not decay: there the sum is cut at 1000 intervals).
     */
    static double trendNoiseGain(double alpha, double beta, double phi) {
        double l = 0, t = 0, sum = 0;
        for (int k = 0; k < 1000; k++) {
            double y = k == 0 ? 1 : 0;
            double previous = l;
            l = alpha * y + (1 - alpha) * (l + phi * t);
            t = beta * (l - previous) + (1 - beta) * phi * t;
            sum += t * t;
            if (k > 10 && t * t < 1e-18 && l * l < 1e-18) break;
        }
        return sum;
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
            level = alpha * y + (1 - alpha) * (level + phi * trend);
            trend = beta * (level - previous) + (1 - beta) * phi * trend;
        }
        n++;
    }

    @Override
    public double forecast(int stepsAhead) {
        return level + trendSteps(stepsAhead) * trend;
    }

    /** How many times the trend is added {@code stepsAhead} intervals ahead: phi + phi^2 + ... + phi^h (h undamped). */
    private double trendSteps(int stepsAhead) {
        if (stepsAhead < 1) throw new IllegalArgumentException("forecasts look at least one interval ahead, got " + stepsAhead);
        return phi == 1 ? stepsAhead : phi * (1 - Math.pow(phi, stepsAhead)) / (1 - phi);
    }

    /**
     * {@inheritDoc} The trend extrapolated is shrunk by {@code T^2 / (T^2 + V)}, V being the trend's variance when the
     * observations are that noise around a constant level ({@link #trendNoiseGain}): a trend well beyond it (a ramp,
     * a burst's rise) passes almost whole, one within it (noise that the trend picked up) mostly goes. The level is
     * forecast as it is.
     */
    @Override
    public double forecast(int stepsAhead, double noiseVariance) {
        if (!(noiseVariance > 0) || n < 2 || trend == 0) return forecast(stepsAhead);
        double v = trendNoiseGain * noiseVariance, significant = trend * trend / (trend * trend + v);
        return level + trendSteps(stepsAhead) * trend * significant;
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
        return new HoltPredictor(alpha, beta, phi);
    }

    /** The trend's damping per interval (1: not damped). */
    public double phi() {
        return phi;
    }

    @Override
    public String spec() {
        return "holt:" + alpha + "," + beta + (phi == 1 ? "" : "," + phi);
    }
}
