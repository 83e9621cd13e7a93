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

/**
 * PNG plots of a set of runs with XChart: the TTFT CDF of every run, each run's worker load over time, and for
 * planned runs a timeline of the request rate, the workers serving and starting, and the mean TTFT per interval.
 */
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
            cdf.addSeries(label(o), x, y).setMarker(SeriesMarkers.NONE);
        }
        files.add(save(cdf, dir.resolve("ttft-cdf.png")));
        for (Simulation.Outcome o : outcomes) {
            if (!o.planner().isEmpty()) files.add(save(plannerTimeline(o), dir.resolve("planner-" + label(o) + ".png")));
        }
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
            files.add(save(c, dir.resolve("load-" + label(o) + ".png")));
        }
        return files;
    }

    /** A run's name in files and legends: the router, and the planner unless the fleet was static. */
    static String label(Simulation.Outcome o) {
        PolicyResult r = o.result();
        return r.planner().equals("static") ? r.router() : r.router() + "-" + r.planner();
    }

    /** Request rate and workers (left axis) and mean TTFT (right axis) per planner interval. */
    private static XYChart plannerTimeline(Simulation.Outcome o) {
        List<Simulation.PlannerSample> ps = o.planner();
        double[] t = new double[ps.size()], rate = new double[ps.size()], serving = new double[ps.size()], up = new double[ps.size()];
        List<Double> tx = new ArrayList<>(), ty = new ArrayList<>();
        for (int i = 0; i < ps.size(); i++) {
            Simulation.PlannerSample p = ps.get(i);
            t[i] = p.timeSeconds();
            rate[i] = p.requestRate();
            serving[i] = p.serving();
            up[i] = p.serving() + p.starting();
            if (!Double.isNaN(p.ttftMeanSeconds())) {
                tx.add(p.timeSeconds());
                ty.add(p.ttftMeanSeconds());
            }
        }
        XYChart c = new XYChartBuilder().width(W).height(H).title("Planner timeline (" + label(o) + ")").xAxisTitle("time (s)").build();
        c.addSeries("requests/s", t, rate).setMarker(SeriesMarkers.NONE);
        c.addSeries("workers serving", t, serving).setMarker(SeriesMarkers.NONE);
        c.addSeries("workers serving + starting", t, up).setMarker(SeriesMarkers.NONE);
        if (!tx.isEmpty()) {
            var ttft = c.addSeries("mean TTFT (s, right axis)", tx, ty);
            ttft.setMarker(SeriesMarkers.NONE);
            ttft.setYAxisGroup(1);
            c.setYAxisGroupTitle(1, "TTFT (s)");
        }
        c.setYAxisGroupTitle(0, "requests/s, workers");
        return c;
    }

    private static Path save(XYChart chart, Path file) throws IOException {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
