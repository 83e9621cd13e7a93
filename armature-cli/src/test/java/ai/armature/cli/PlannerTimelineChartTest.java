package ai.armature.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

import ai.armature.planner.Decision;
import ai.armature.planner.DecisionLog;
import ai.armature.planner.PlannerConfig;
import ai.armature.planner.Pool;
import ai.armature.planner.PoolFleet;
import ai.armature.planner.PoolObservation;
import ai.armature.protocol.TrafficCounters;

/** The planner's PNG timeline, drawn from the decision log the planner writes (DecisionLog's own lines). */
class PlannerTimelineChartTest {

    @TempDir
    Path dir;

    /** {@code n} requests with their first token after {@code ttft} and tokens every {@code itl} seconds. */
    static TrafficCounters traffic(long n, double ttft, double itl) {
        long[] th = new long[TrafficCounters.BUCKET_BOUNDS.length + 1], ih = th.clone();
        th[TrafficCounters.bucketOf(ttft)] = n;
        ih[TrafficCounters.bucketOf(itl)] = n;
        return new TrafficCounters(n, 100 * n, 10000.0 * n, n, 100 * n, 0, n * ttft, th, n, 0, 10 * n, 100.0 * n, n, 9 * n, 9 * n * itl, ih);
    }

    static String line(double t, Pool pool, int serving, int starting, TrafficCounters traffic) {
        PoolObservation obs = new PoolObservation(pool, 10, traffic, traffic, serving, 0, 1, 0, 0.1);
        Decision d = new Decision(pool, t, serving + starting, serving + starting, Decision.Reason.HOLD, traffic.requests() / 10.0, Double.NaN,
                null, null, obs);
        return DecisionLog.json(d, new PoolFleet(serving, starting, 0), PlannerConfig.defaults()).toString();
    }

    @Test
    void drawsRateWorkersAndLatenciesPerIntervalWithGapsWhereNothingWasMeasured() throws IOException {
        Path log = dir.resolve("timeline.jsonl");
        Files.writeString(log, String.join("\n",
                line(10, Pool.AGGREGATED, 1, 0, traffic(20, 0.2, 0.01)),
                line(20, Pool.AGGREGATED, 1, 2, traffic(80, 1.5, 0.03)),
                line(30, Pool.AGGREGATED, 3, 0, TrafficCounters.ZERO),
                line(40, Pool.AGGREGATED, 3, 0, traffic(60, 0.3, 0.02))) + "\n");
        XYChart c = PlannerTimelineChart.chart(log, "t");
        assertThat(c.getSeriesMap().keySet()).containsExactly("requests/s", "workers serving", "workers serving + starting",
                "mean TTFT (s, right)", "mean ITL (ms, far right)");
        assertThat(c.getSeriesMap().get("workers serving + starting").getYData()).containsExactly(1.0, 3.0, 3.0, 3.0);
        assertThat(c.getSeriesMap().get("requests/s").getYData()).containsExactly(2.0, 8.0, 0.0, 6.0);
        assertThat(c.getSeriesMap().get("mean TTFT (s, right)").getXData()).as("no first token at 30 s: a gap").containsExactly(10.0, 20.0, 40.0);
        assertThat(c.getSeriesMap().get("mean ITL (ms, far right)").getYData()[1]).isCloseTo(30, org.assertj.core.api.Assertions.within(1e-9));

        Path png = PlannerTimelineChart.pngFor(log);
        assertThat(png.getFileName().toString()).isEqualTo("timeline.png");
        assertThat(PlannerTimelineChart.write(log, png, "planner")).isEqualTo(4);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(1000);
        assertThat(image.getHeight()).isEqualTo(560);
    }

    @Test
    void prefillAndDecodePoolsGetSeriesOfTheirOwn() throws IOException {
        Path log = dir.resolve("disagg.log");
        Files.writeString(log, line(10, Pool.PREFILL, 2, 0, traffic(20, 0.2, 0.01)) + "\n" + line(10, Pool.DECODE, 1, 1, traffic(20, 0.2, 0.01)) + "\n");
        XYChart c = PlannerTimelineChart.chart(log, "t");
        assertThat(c.getSeriesMap().keySet()).contains("prefill: workers serving", "decode: workers serving + starting");
        assertThat(PlannerTimelineChart.pngFor(log).getFileName().toString()).isEqualTo("disagg.log.png");
    }

    @Test
    void aFileThatIsNotADecisionLogIsRefused() throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"x\":1}\n");
        assertThatThrownBy(() -> PlannerTimelineChart.chart(bad, "t")).isInstanceOf(IOException.class).hasMessageContaining("not a planner decision log");
        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "\n");
        assertThatThrownBy(() -> PlannerTimelineChart.chart(empty, "t")).hasMessageContaining("no decisions");
    }
}
