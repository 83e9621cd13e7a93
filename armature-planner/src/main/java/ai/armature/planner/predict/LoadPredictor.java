package ai.armature.planner.predict;

import java.util.Locale;

/**
 * Forecasts one series observed once per planning interval (request rate, mean input length, ...): {@link #observe}
 * each interval's value, then {@link #forecast} the value {@code h} intervals ahead. Before any observation the
 * forecast is NaN. Not thread-safe: one per series.
 */
public sealed interface LoadPredictor permits ConstantPredictor, MovingAveragePredictor, HoltPredictor {

    /** Records the value of the interval that just ended. */
    void observe(double value);

    /** The value expected {@code stepsAhead} (&gt;= 1) intervals after the last observed one; NaN if none was observed. */
    double forecast(int stepsAhead);

    /**
     * The forecast {@code stepsAhead} intervals ahead for a series whose observations carry noise of
     * {@code noiseVariance} (per observation; NaN or 0: unknown, the plain {@link #forecast}): a predictor that
     * extrapolates a trend extrapolates only as much of it as stands out of what that noise alone puts into it.
     * Predictors without a trend forecast as {@link #forecast} does.
     */
    default double forecast(int stepsAhead, double noiseVariance) {
        return forecast(stepsAhead);
    }

    /** Observations so far. */
    long observations();

    /** A predictor of the same kind and settings with no observations (for another series). */
    LoadPredictor fresh();

    /** The spec that {@link #parse} reads back. */
    String spec();

    /**
     * Parses {@code --predictor}: {@code constant} (the last value), {@code moving-average[:N]} (the mean of the last
     * N values, default {@value MovingAveragePredictor#DEFAULT_WINDOW}) or {@code holt[:ALPHA,BETA[,PHI]]} (Holt's
     * double exponential smoothing: level and trend, defaults {@value HoltPredictor#DEFAULT_ALPHA} and
     * {@value HoltPredictor#DEFAULT_BETA}; PHI below 1 damps the trend, 1 by default).
     */
    static LoadPredictor parse(String spec) {
        String s = spec == null ? "" : spec.strip().toLowerCase(Locale.ROOT);
        int colon = s.indexOf(':');
        String kind = colon < 0 ? s : s.substring(0, colon);
        String args = colon < 0 ? null : s.substring(colon + 1);
        try {
            return switch (kind) {
                case "constant" -> {
                    if (args != null) throw new IllegalArgumentException("--predictor constant takes no parameters");
                    yield new ConstantPredictor();
                }
                case "moving-average" -> new MovingAveragePredictor(args == null ? MovingAveragePredictor.DEFAULT_WINDOW : Integer.parseInt(args.strip()));
                case "holt" -> {
                    if (args == null) yield new HoltPredictor(HoltPredictor.DEFAULT_ALPHA, HoltPredictor.DEFAULT_BETA);
                    String[] ab = args.split(",");
                    if (ab.length != 2 && ab.length != 3) {
                        throw new IllegalArgumentException("--predictor holt:ALPHA,BETA[,PHI] needs two or three numbers, got '" + args + "'");
                    }
                    yield new HoltPredictor(Double.parseDouble(ab[0].strip()), Double.parseDouble(ab[1].strip()),
                            ab.length == 3 ? Double.parseDouble(ab[2].strip()) : 1);
                }
                default -> throw new IllegalArgumentException("unknown --predictor '" + spec
                        + "': use constant, moving-average[:N] or holt[:ALPHA,BETA[,PHI]]");
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--predictor " + spec + ": cannot read '" + args + "' as numbers");
        }
    }
}
