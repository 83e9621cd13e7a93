package ai.armature.planner.predict;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Each predictor on synthetic series whose forecasts are known in closed form or by hand. */
class LoadPredictorTest {

    private static void feed(LoadPredictor p, double... ys) {
        for (double y : ys) p.observe(y);
    }

    @Test
    void nothingObservedForecastsNaN() {
        for (String s : new String[] {"constant", "moving-average", "holt"}) {
            assertThat(LoadPredictor.parse(s).forecast(1)).as(s).isNaN();
        }
    }

    @Test
    void aConstantSeriesIsForecastExactlyByAll() {
        for (String s : new String[] {"constant", "moving-average:3", "holt", "holt:0.9,0.9"}) {
            LoadPredictor p = LoadPredictor.parse(s);
            for (int i = 0; i < 20; i++) p.observe(7.5);
            for (int h = 1; h <= 10; h++) assertThat(p.forecast(h)).as("%s at %d", s, h).isCloseTo(7.5, within(1e-12));
        }
    }

    @Test
    void constantRepeatsTheLastValue() {
        LoadPredictor p = LoadPredictor.parse("constant");
        feed(p, 1, 5, 3);
        assertThat(p.forecast(1)).isEqualTo(3);
        assertThat(p.forecast(12)).isEqualTo(3);
        assertThat(p.observations()).isEqualTo(3);
    }

    @Test
    void movingAverageIsTheMeanOfTheLastWindow() {
        LoadPredictor p = LoadPredictor.parse("moving-average:3");
        feed(p, 10);
        assertThat(p.forecast(1)).isEqualTo(10);
        feed(p, 20);
        assertThat(p.forecast(1)).isEqualTo(15);
        feed(p, 30, 40, 50);
        assertThat(p.forecast(1)).isEqualTo(40); // (30 + 40 + 50) / 3
        assertThat(p.forecast(5)).isEqualTo(40);
        // On a line of slope 2 it lags by (window - 1) / 2 intervals plus the horizon.
        LoadPredictor ma = LoadPredictor.parse("moving-average:5");
        for (int t = 0; t < 30; t++) ma.observe(2.0 * t);
        assertThat(ma.forecast(1)).isEqualTo(2.0 * 27);
    }

    @Test
    void holtForecastsALineExactlyFromItsSecondPoint() {
        for (String s : new String[] {"holt", "holt:0.2,0.1", "holt:1,1"}) {
            LoadPredictor p = LoadPredictor.parse(s);
            p.observe(3);
            assertThat(p.forecast(4)).isEqualTo(3);
            for (int t = 1; t < 15; t++) {
                p.observe(3 + 2.5 * t);
                for (int h = 1; h <= 6; h++) assertThat(p.forecast(h)).as("%s t=%d h=%d", s, t, h).isCloseTo(3 + 2.5 * (t + h), within(1e-9));
            }
        }
    }

    @Test
    void holtMatchesTheRecurrenceWorkedByHand() {
        HoltPredictor p = new HoltPredictor(0.5, 0.5);
        feed(p, 10, 12);
        assertThat(p.level()).isEqualTo(12);
        assertThat(p.trend()).isEqualTo(2);
        p.observe(13); // level = 0.5*13 + 0.5*(12+2) = 13.5; trend = 0.5*1.5 + 0.5*2 = 1.75
        assertThat(p.level()).isCloseTo(13.5, within(1e-12));
        assertThat(p.trend()).isCloseTo(1.75, within(1e-12));
        p.observe(17); // level = 8.5 + 0.5*15.25 = 16.125; trend = 0.5*2.625 + 0.5*1.75 = 2.1875
        assertThat(p.forecast(1)).isCloseTo(18.3125, within(1e-12));
        assertThat(p.forecast(3)).isCloseTo(22.6875, within(1e-12));
    }

    @Test
    void holtFollowsAStepAndItsTrendDecays() {
        // After a jump from 10 to 100, the level converges on 100 and the trend on 0 (geometrically).
        HoltPredictor p = new HoltPredictor(0.5, 0.3);
        for (int i = 0; i < 10; i++) p.observe(10);
        for (int i = 0; i < 60; i++) p.observe(100);
        assertThat(p.level()).isCloseTo(100, within(1e-6));
        assertThat(p.trend()).isCloseTo(0, within(1e-6));
        // One interval after the jump it already forecasts above the old level.
        HoltPredictor q = new HoltPredictor(0.5, 0.3);
        for (int i = 0; i < 10; i++) q.observe(10);
        q.observe(100);
        // level = 0.5*100 + 0.5*(10 + 0) = 55; trend = 0.3*(55 - 10) + 0.7*0 = 13.5
        assertThat(q.forecast(1)).isCloseTo(68.5, within(1e-9));
    }

    @Test
    void aDampedTrendMatchesTheRecurrenceWorkedByHandAndAddsAtMostPhiOverOneMinusPhiIntervals() {
        HoltPredictor p = new HoltPredictor(0.5, 0.5, 0.8);
        feed(p, 10, 12);
        assertThat(p.trend()).isEqualTo(2);
        // level = 0.5*13 + 0.5*(12 + 0.8*2) = 13.3; trend = 0.5*(13.3 - 12) + 0.5*0.8*2 = 1.45
        p.observe(13);
        assertThat(p.level()).isCloseTo(13.3, within(1e-12));
        assertThat(p.trend()).isCloseTo(1.45, within(1e-12));
        // forecast(2) = 13.3 + (0.8 + 0.64) * 1.45
        assertThat(p.forecast(1)).isCloseTo(13.3 + 0.8 * 1.45, within(1e-12));
        assertThat(p.forecast(2)).isCloseTo(13.3 + 1.44 * 1.45, within(1e-12));
        // However far ahead, the trend adds less than phi / (1 - phi) = 4 intervals of it; undamped, h intervals.
        assertThat(p.forecast(1000)).isCloseTo(13.3 + 4 * 1.45, within(1e-9));
        HoltPredictor linear = new HoltPredictor(0.5, 0.5);
        feed(linear, 10, 12, 13);
        assertThat(linear.forecast(13)).isCloseTo(13.5 + 13 * 1.75, within(1e-12));
        // On a step, the damped forecast 12 intervals ahead overshoots the new level far less than the linear one.
        HoltPredictor d = new HoltPredictor(0.5, 0.3, 0.8), u = new HoltPredictor(0.5, 0.3);
        for (int i = 0; i < 10; i++) {
            d.observe(5);
            u.observe(5);
        }
        d.observe(50);
        u.observe(50);
        assertThat(u.forecast(12)).isGreaterThan(2 * 50);
        assertThat(d.forecast(12)).isLessThan(1.5 * 50);
    }

    @Test
    void freshCopiesSettingsNotState() {
        LoadPredictor p = LoadPredictor.parse("moving-average:7");
        feed(p, 1, 2);
        LoadPredictor f = p.fresh();
        assertThat(f.observations()).isZero();
        assertThat(f.spec()).isEqualTo("moving-average:7");
        assertThat(LoadPredictor.parse("holt:0.4,0.2").fresh().spec()).isEqualTo("holt:0.4,0.2");
        assertThat(LoadPredictor.parse("holt:0.4,0.2,0.8").fresh().spec()).isEqualTo("holt:0.4,0.2,0.8");
        assertThat(LoadPredictor.parse("holt:0.4,0.2,1").spec()).isEqualTo("holt:0.4,0.2");
    }

    @Test
    void badSpecsAreRefusedWithTheFix() {
        assertThatThrownBy(() -> LoadPredictor.parse("arima")).hasMessageContaining("use constant, moving-average[:N] or holt[:ALPHA,BETA[,PHI]]");
        assertThatThrownBy(() -> LoadPredictor.parse("moving-average:0")).hasMessageContaining("N >= 1");
        assertThatThrownBy(() -> LoadPredictor.parse("holt:2,0.1")).hasMessageContaining("alpha must be in (0, 1]");
        assertThatThrownBy(() -> LoadPredictor.parse("holt:0.5")).hasMessageContaining("two or three numbers");
        assertThatThrownBy(() -> LoadPredictor.parse("holt:0.5,0.3,0")).hasMessageContaining("phi must be in (0, 1]");
        assertThatThrownBy(() -> LoadPredictor.parse("holt:0.5,0.3,1.2")).hasMessageContaining("phi must be in (0, 1]");
        assertThatThrownBy(() -> LoadPredictor.parse("holt:a,b")).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> LoadPredictor.parse("constant:3")).hasMessageContaining("no parameters");
    }

    @Test
    void holtsTrendNoiseGainIsTheSumOfItsSquaredWeights() {
        // alpha 1, beta 1: the trend is y(t) - y(t-1), weights +1 and -1, whatever phi.
        assertThat(HoltPredictor.trendNoiseGain(1, 1, 0.8)).isCloseTo(2, within(1e-12));
        // alpha 1, beta 0.5, phi 1: weights 1/2, then -(1/2)^(k+1): 1/4 + sum of 1/4^(k+1) for k >= 1 = 1/3.
        assertThat(HoltPredictor.trendNoiseGain(1, 0.5, 1)).isCloseTo(1.0 / 3, within(1e-12));
        // Seeded white noise of variance 4 around a constant: the trend's variance is 4 x the gain.
        HoltPredictor h = new HoltPredictor(0.5, 0.1, 0.8);
        java.util.Random r = new java.util.Random(7);
        double sum = 0;
        int n = 200_000;
        for (int i = 0; i < n + 100; i++) {
            h.observe(10 + 2 * r.nextGaussian());
            if (i >= 100) sum += h.trend() * h.trend();
        }
        assertThat(sum / n).isCloseTo(4 * HoltPredictor.trendNoiseGain(0.5, 0.1, 0.8), within(0.03 * 4 * HoltPredictor.trendNoiseGain(0.5, 0.1, 0.8)));
    }

    @Test
    void aTrendWithinTheNoiseIsNotExtrapolatedAndARampIs() {
        java.util.Random r = new java.util.Random(3);
        double noiseVariance = 1;
        HoltPredictor flat = new HoltPredictor(0.5, 0.3, 0.8), ramp = new HoltPredictor(0.5, 0.3, 0.8);
        double flatPlain = 0, flatWeighed = 0;
        int n = 2000;
        for (int i = 0; i < n; i++) {
            double e = r.nextGaussian();
            flat.observe(10 + e);
            ramp.observe(10 + 1.5 * i + e);
            // What each forecast adds to the level 13 intervals ahead: the trend it extrapolates.
            flatPlain += Math.abs(flat.forecast(13) - flat.level());
            flatWeighed += Math.abs(flat.forecast(13, noiseVariance) - flat.level());
        }
        // On noise alone about half of the extrapolated trend goes (E|z|^3/(z^2 + 1) over E|z| is 0.54 for a normal
        // z); on a ramp of 1.5 noise deviations per interval (the damped trend settles at about 0.87, five of its noise
        // deviations of 0.17) over 95% of it stays.
        assertThat(flatWeighed).isLessThan(0.65 * flatPlain);
        double rampPlain = ramp.forecast(13) - ramp.level(), rampWeighed = ramp.forecast(13, noiseVariance) - ramp.level();
        assertThat(rampWeighed).isGreaterThan(0.95 * rampPlain);
        // Without a measured noise it is the plain forecast.
        assertThat(flat.forecast(13, 0)).isEqualTo(flat.forecast(13));
        assertThat(flat.forecast(13, Double.NaN)).isEqualTo(flat.forecast(13));
        // A predictor without a trend ignores the noise.
        MovingAveragePredictor m = new MovingAveragePredictor(3);
        m.observe(1);
        m.observe(5);
        assertThat(m.forecast(4, 1)).isEqualTo(m.forecast(4));
    }
}
