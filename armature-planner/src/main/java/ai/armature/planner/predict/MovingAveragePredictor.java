package ai.armature.planner.predict;

/**
 * Forecasts the mean of the last {@code window} observations (fewer until that many were seen) at every horizon:
 * smooths noise at the cost of lagging a trend by about half the window.
 */
public final class MovingAveragePredictor implements LoadPredictor {

    public static final int DEFAULT_WINDOW = 4;

    private final double[] ring;
    private int next, size;
    private long n;

    public MovingAveragePredictor(int window) {
        if (window < 1) throw new IllegalArgumentException("--predictor moving-average:N needs N >= 1, got " + window);
        this.ring = new double[window];
    }

    @Override
    public void observe(double value) {
        ring[next] = value;
        next = (next + 1) % ring.length;
        if (size < ring.length) size++;
        n++;
    }

    @Override
    public double forecast(int stepsAhead) {
        if (stepsAhead < 1) throw new IllegalArgumentException("forecasts look at least one interval ahead, got " + stepsAhead);
        if (size == 0) return Double.NaN;
        double sum = 0;
        for (int i = 0; i < size; i++) sum += ring[i];
        return sum / size;
    }

    @Override
    public long observations() {
        return n;
    }

    @Override
    public LoadPredictor fresh() {
        return new MovingAveragePredictor(ring.length);
    }

    @Override
    public String spec() {
        return "moving-average:" + ring.length;
    }
}
