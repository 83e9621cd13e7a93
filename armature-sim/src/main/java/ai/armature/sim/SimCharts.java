package ai.armature.sim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG plots of a set of runs with XChart: the TTFT CDF of every policy, and each policy's worker load over time. */
public final class SimCharts {

    private static final int W = 900, H = 500;

    private SimCharts() {
    }

    /** Writes {@code ttft-cdf.png} and {@code load-POLICY.png} into {@code dir}; returns the files. */
    public static List<Path> write(Path dir, List<Simulation.Outcome> outcomes) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Path> files = new ArrayList<>();
        XYChart cdf = new XYChartBuilder().width(W).height(H).title("TTFT CDF").xAxisTitle("TTFT (s)").yAxisTitle("fraction of requests").build();
        cdf.getStyler().setXAxisLogarithmic(true);
        for (Simulation.Outcome o : outcomes) {
            double[] t = o.ttftSeconds().clone();
            if (t.length == 0) continue;
            Arrays.sort(t);
            int points = Math.min(t.length, 400);
            double[] x = new double[points], y = new double[points];
            for (int i = 0; i < points; i++) {
                int k = (int) ((long) i * (t.length - 1) / Math.max(1, points - 1));
                x[i] = Math.max(t[k], 1e-4);
                y[i] = (k + 1) / (double) t.length;
            }
            cdf.addSeries(o.result().router(), x, y).setMarker(SeriesMarkers.NONE);
        }
        files.add(save(cdf, dir.resolve("ttft-cdf.png")));
        for (Simulation.Outcome o : outcomes) {
            LoadTimeline tl = o.timeline();
            if (tl.times.isEmpty()) continue;
            XYChart c = new XYChartBuilder().width(W).height(H).title("Worker load over time (" + o.result().router() + ")")
                    .xAxisTitle("time (s)").yAxisTitle("busy fraction").build();
            double[] x = tl.times.stream().mapToDouble(Double::doubleValue).toArray();
            int series = tl.samples.getFirst().length;
            String[] names = tl.perWorker ? null : new String[] {"least busy worker", "median worker", "busiest worker"};
            for (int s = 0; s < series; s++) {
                double[] y = new double[x.length];
                for (int i = 0; i < x.length; i++) y[i] = s < tl.samples.get(i).length ? tl.samples.get(i)[s] : 0;
                c.addSeries(names == null ? "worker-" + s : names[s], x, y).setMarker(SeriesMarkers.NONE);
            }
            files.add(save(c, dir.resolve("load-" + o.result().router() + ".png")));
        }
        return files;
    }

    private static Path save(XYChart chart, Path file) throws IOException {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
