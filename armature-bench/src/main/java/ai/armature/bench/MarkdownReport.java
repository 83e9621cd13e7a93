package ai.armature.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders summaries as a Markdown table for stdout: one column per load point. */
public final class MarkdownReport {

    private MarkdownReport() {
    }

    /** The report for all load points of one run. */
    public static String render(String title, List<Summary> points, String calibrationNote) {
        StringBuilder sb = new StringBuilder();
        sb.append("## ").append(title).append("\n\n");
        if (calibrationNote != null) {
            sb.append("Prompt calibration: ").append(calibrationNote).append("\n\n");
        }
        sb.append("| metric |");
        for (Summary s : points) {
            sb.append(' ').append(s.load()).append(" |");
        }
        sb.append("\n| --- |").append(" ---: |".repeat(points.size())).append('\n');
        row(sb, "requests completed / failed", points, s -> s.requestsCompleted() + " / " + s.requestsFailed());
        row(sb, "duration (s)", points, s -> f(s.durationSeconds(), 2));
        row(sb, "request throughput (req/s)", points, s -> f(s.requestThroughput(), 3));
        row(sb, "goodput (req/s)", points, s -> f(s.goodput(), 3));
        row(sb, "output tokens/s", points, s -> f(s.outputTokensPerSecond(), 1));
        row(sb, "total tokens/s", points, s -> f(s.totalTokensPerSecond(), 1));
        latency(sb, "TTFT", points, Summary::ttft);
        latency(sb, "ITL", points, Summary::itl);
        latency(sb, "E2E", points, Summary::e2e);
        row(sb, "prompt tokens requested / actual (mean)", points,
                s -> f(s.promptTokensRequestedMean(), 1) + " / " + f(s.promptTokensActualMean(), 1));
        row(sb, "output tokens requested / actual (mean)", points,
                s -> f(s.outputTokensRequestedMean(), 1) + " / " + f(s.outputTokensActualMean(), 1));
        row(sb, "prefix cache hit rate", points, s -> Double.isNaN(s.prefixCacheHitRate()) ? "not reported"
                : f(100 * s.prefixCacheHitRate(), 1) + "%");
        if (points.stream().anyMatch(s -> s.scheduleLag().count() > 0)) {
            row(sb, "send lag vs schedule p99 (ms)", points, s -> f(1e3 * s.scheduleLag().p99(), 2));
        }
        row(sb, "errors", points, s -> s.errorsByKind().isEmpty() ? "none" : errors(s.errorsByKind()));
        return sb.toString();
    }

    private static void latency(StringBuilder sb, String name, List<Summary> points,
                                java.util.function.Function<Summary, LatencyStats> get) {
        row(sb, name + " mean / p50 / p90 / p99 (ms)", points, s -> {
            LatencyStats l = get.apply(s);
            return ms(l.mean()) + " / " + ms(l.p50()) + " / " + ms(l.p90()) + " / " + ms(l.p99());
        });
    }

    private static void row(StringBuilder sb, String name, List<Summary> points,
                            java.util.function.Function<Summary, String> cell) {
        sb.append("| ").append(name).append(" |");
        for (Summary s : points) {
            sb.append(' ').append(cell.apply(s)).append(" |");
        }
        sb.append('\n');
    }

    private static String errors(Map<String, Long> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(": ").append(v));
        return sb.toString();
    }

    static String ms(double seconds) {
        return f(seconds * 1e3, 2);
    }

    static String f(double v, int digits) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
