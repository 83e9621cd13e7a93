package ai.armature.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The PNG timeline of a planner run ({@code armature planner --timeline FILE} writes it as FILE.png when it stops),
 * drawn with XChart from the decision log's JSON lines, as {@code simulate --planner} draws its runs: per pool and
 * interval, the request rate the workers saw and the workers serving and serving + starting (left axis), the mean
 * TTFT (first right axis) and the mean inter-token latency (second right axis). Intervals without a first token or a
 * decoded token leave a gap in those series rather than a zero.
 */
final class PlannerTimelineChart {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int W = 1000, H = 560;

    private PlannerTimelineChart() {
    }

    /** The PNG's path for a timeline file: the same name with {@code .png} in place of {@code .jsonl} (or added). */
    static Path pngFor(Path timeline) {
        String name = timeline.getFileName().toString();
        String base = name.endsWith(".jsonl") ? name.substring(0, name.length() - ".jsonl".length()) : name;
        return timeline.resolveSibling(base + ".png");
    }

    /** Draws {@code timeline} (the decision log) into {@code png}; returns the number of decisions drawn. */
    static int write(Path timeline, Path png, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart c = chart(timeline, title);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        BitmapEncoder.saveBitmap(c, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return decisions(c);
    }

    private static int decisions(XYChart c) {
        int n = 0;
        for (var s : c.getSeriesMap().values()) if (s.getName().endsWith("workers serving")) n += s.getXData().length;
        return n;
    }

    /** The chart of a decision log. */
    static XYChart chart(Path timeline, String title) throws IOException {
        Map<String, Series> pools = new LinkedHashMap<>();
        int decisions = 0;
        for (String line : Files.readAllLines(timeline, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode d = JSON.readTree(line);
            if (!d.has("time_s") || !d.has("pool")) throw new IOException(timeline + ": not a planner decision log line: " + line);
            pools.computeIfAbsent(d.get("pool").asText(), p -> new Series()).add(d);
            decisions++;
        }
        if (decisions == 0) throw new IOException(timeline + " has no decisions to draw");
        XYChart c = new XYChartBuilder().width(W).height(H).title(title).xAxisTitle("time (s)").build();
        boolean several = pools.size() > 1;
        boolean ttft = false, itl = false;
        for (var e : pools.entrySet()) {
            String p = several ? e.getKey() + ": " : "";
            Series s = e.getValue();
            if (!s.rateT.isEmpty()) c.addSeries(p + "requests/s", s.rateT, s.rate).setMarker(SeriesMarkers.NONE);
            c.addSeries(p + "workers serving", s.t, s.serving).setMarker(SeriesMarkers.NONE);
            c.addSeries(p + "workers serving + starting", s.t, s.up).setMarker(SeriesMarkers.NONE);
            if (!s.ttftT.isEmpty()) {
                var x = c.addSeries(p + "mean TTFT (s, right)", s.ttftT, s.ttft);
                x.setMarker(SeriesMarkers.CIRCLE);
                x.setYAxisGroup(1);
                ttft = true;
            }
            if (!s.itlT.isEmpty()) {
                var x = c.addSeries(p + "mean ITL (ms, far right)", s.itlT, s.itlMs);
                x.setMarker(SeriesMarkers.DIAMOND);
                x.setYAxisGroup(2);
                itl = true;
            }
        }
        c.setYAxisGroupTitle(0, "requests/s, workers");
        if (ttft) {
            c.setYAxisGroupTitle(1, "mean TTFT (s)");
            c.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        }
        if (itl) {
            c.setYAxisGroupTitle(2, "mean ITL (ms)");
            c.getStyler().setYAxisGroupPosition(2, Styler.YAxisPosition.Right);
        }
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        return c;
    }

    /** One pool's points; latency series keep only the intervals that measured them. */
    private static final class Series {
        final List<Double> t = new ArrayList<>(), serving = new ArrayList<>(), up = new ArrayList<>();
        final List<Double> rateT = new ArrayList<>(), rate = new ArrayList<>();
        final List<Double> ttftT = new ArrayList<>(), ttft = new ArrayList<>(), itlT = new ArrayList<>(), itlMs = new ArrayList<>();

        void add(JsonNode d) {
            double time = d.get("time_s").asDouble();
            t.add(time);
            serving.add(d.path("serving").asDouble());
            up.add(d.path("serving").asDouble() + d.path("starting").asDouble());
            if (d.has("observed_rate")) {
                rateT.add(time);
                rate.add(d.get("observed_rate").asDouble());
            }
            if (d.has("ttft_mean_s")) {
                ttftT.add(time);
                ttft.add(d.get("ttft_mean_s").asDouble());
            }
            if (d.has("itl_mean_s")) {
                itlT.add(time);
                itlMs.add(d.get("itl_mean_s").asDouble() * 1000);
            }
        }
    }
}
