package ai.armature.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PNG charts with XChart, written next to the JSON report: per load point the TTFT and ITL distributions and the
 * output throughput over time; for a sweep, latency against throughput across the points.
 */
public final class Charts {

    private static final int W = 900;
    private static final int H = 500;
    private static final int BINS = 40;

    private Charts() {
    }

    /** Writes the charts of one load point with file names starting with {@code prefix}; returns the files. */
    public static List<Path> writePoint(Path dir, String prefix, RunResult run) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Path> files = new ArrayList<>();
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        for (RequestRecord r : run.records()) {
            if (r.ok() && r.ttftNanos() >= 0) {
                ttft.add(r.ttftNanos() / 1e6);
            }
            if (r.ok()) {
                for (int i = 0; i < r.chunkGapsNanos().length; i++) {
                    itl.add(r.itlNanos(i) / 1e6);
                }
            }
        }
        if (!ttft.isEmpty()) {
            files.add(save(histogram("TTFT distribution (" + run.shape().label() + ")", "TTFT (ms)", ttft),
                    dir.resolve(prefix + "-ttft.png")));
        }
        if (!itl.isEmpty()) {
            files.add(save(histogram("ITL distribution (" + run.shape().label() + ")", "ITL (ms)", itl),
                    dir.resolve(prefix + "-itl.png")));
        }
        XYChart tp = throughputOverTime(run);
        if (tp != null) {
            files.add(save(tp, dir.resolve(prefix + "-throughput.png")));
        }
        return files;
    }

    /** Writes latency-vs-throughput curves across sweep points; returns the file. */
    public static Path writeSweep(Path dir, String prefix, List<Summary> points) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart c = new XYChartBuilder().width(W).height(H).title("Latency vs output throughput")
                .xAxisTitle("output tokens/s").yAxisTitle("latency (ms)").build();
        double[] x = new double[points.size()];
        double[] ttft50 = new double[x.length];
        double[] ttft99 = new double[x.length];
        double[] itl50 = new double[x.length];
        double[] itl99 = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            Summary s = points.get(i);
            x[i] = s.outputTokensPerSecond();
            ttft50[i] = nz(s.ttft().p50() * 1e3);
            ttft99[i] = nz(s.ttft().p99() * 1e3);
            itl50[i] = nz(s.itl().p50() * 1e3);
            itl99[i] = nz(s.itl().p99() * 1e3);
        }
        c.addSeries("TTFT p50", x, ttft50).setMarker(SeriesMarkers.CIRCLE);
        c.addSeries("TTFT p99", x, ttft99).setMarker(SeriesMarkers.SQUARE);
        c.addSeries("ITL p50", x, itl50).setMarker(SeriesMarkers.DIAMOND);
        c.addSeries("ITL p99", x, itl99).setMarker(SeriesMarkers.TRIANGLE_UP);
        return save(c, dir.resolve(prefix + "-sweep-latency-vs-throughput.png"));
    }

    private static double nz(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    private static CategoryChart histogram(String title, String xTitle, List<Double> values) {
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (double v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double width = max > min ? (max - min) / BINS : 1;
        double[] counts = new double[BINS];
        for (double v : values) {
            counts[Math.min(BINS - 1, (int) ((v - min) / width))]++;
        }
        List<String> labels = new ArrayList<>(BINS);
        List<Double> ys = new ArrayList<>(BINS);
        for (int i = 0; i < BINS; i++) {
            labels.add(String.format(java.util.Locale.ROOT, "%.1f", min + (i + 0.5) * width));
            ys.add(counts[i]);
        }
        CategoryChart c = new CategoryChartBuilder().width(W).height(H).title(title).xAxisTitle(xTitle)
                .yAxisTitle("count").build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisLabelRotation(60);
        c.getStyler().setAvailableSpaceFill(0.95);
        c.addSeries("count", labels, ys);
        return c;
    }

    /**
     * Output tokens/s over the run, from each token's arrival time (chunk gaps spread evenly), in about 50 buckets
     * of 0.1 s to 10 s.
     */
    private static XYChart throughputOverTime(RunResult run) {
        double duration = run.durationNanos() / 1e9;
        if (duration <= 0) {
            return null;
        }
        double width = Math.clamp(duration / 50, 0.1, 10.0);
        long widthNanos = Math.round(width * 1e9);
        int n = (int) Math.ceil(run.durationNanos() / (double) widthNanos);
        double[] tokens = new double[Math.max(1, n)];
        for (RequestRecord r : run.records()) {
            if (!r.ok() || r.ttftNanos() < 0) {
                continue;
            }
            long t = r.startOffsetNanos() + r.ttftNanos();
            add(tokens, t / widthNanos, 1);
            double perGap = r.tokensPerGap();
            for (long g : r.chunkGapsNanos()) {
                t += g;
                add(tokens, t / widthNanos, perGap);
            }
        }
        double[] x = new double[tokens.length];
        double[] y = new double[tokens.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i + 0.5) * width;
            // The last bucket may be partial: divide by the time it covers.
            double covered = Math.min(width, duration - i * width);
            y[i] = covered > 0 ? tokens[i] / covered : 0;
        }
        XYChart c = new XYChartBuilder().width(W).height(H).title("Output throughput over time ("
                + run.shape().label() + ")").xAxisTitle("time (s)").yAxisTitle("output tokens/s").build();
        c.getStyler().setLegendVisible(false);
        c.addSeries("tokens/s", x, y).setMarker(SeriesMarkers.NONE);
        return c;
    }

    private static void add(double[] buckets, long index, double tokens) {
        buckets[(int) Math.min(buckets.length - 1, Math.max(0, index))] += tokens;
    }

    private static Path save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) throws IOException {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
