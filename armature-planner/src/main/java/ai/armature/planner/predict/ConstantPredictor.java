package ai.armature.planner.predict;

/** Forecasts the last observed value at every horizon: right for steady load, always one interval late on a change. */
public final class ConstantPredictor implements LoadPredictor {

    private double last = Double.NaN;
    private long n;

    @Override
    public void observe(double value) {
        last = value;
        n++;
    }

    @Override
    public double forecast(int stepsAhead) {
        if (stepsAhead < 1) throw new IllegalArgumentException("forecasts look at least one interval ahead, got " + stepsAhead);
        return last;
    }

    @Override
    public long observations() {
        return n;
    }

    @Override
    public LoadPredictor fresh() {
        return new ConstantPredictor();
    }

    @Override
    public String spec() {
        return "constant";
    }
}
