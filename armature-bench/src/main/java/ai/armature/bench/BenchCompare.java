package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code armature bench compare A.json B.json}: the summaries of two reports side by side with the ratio B/A.
 * A sweep is compared point by point (by position).
 */
public final class BenchCompare {

    private static final String[][] METRICS = {
            {"requests completed", "requests_completed"},
            {"requests failed", "requests_failed"},
            {"request throughput (req/s)", "request_throughput"},
            {"goodput (req/s)", "goodput"},
            {"output tokens/s", "output_tokens_per_second"},
            {"total tokens/s", "total_tokens_per_second"},
            {"TTFT mean (ms)", "ttft_seconds.mean"}, {"TTFT p50 (ms)", "ttft_seconds.p50"},
            {"TTFT p90 (ms)", "ttft_seconds.p90"}, {"TTFT p99 (ms)", "ttft_seconds.p99"},
            {"ITL mean (ms)", "itl_seconds.mean"}, {"ITL p50 (ms)", "itl_seconds.p50"},
            {"ITL p90 (ms)", "itl_seconds.p90"}, {"ITL p99 (ms)", "itl_seconds.p99"},
            {"E2E mean (ms)", "e2e_seconds.mean"}, {"E2E p50 (ms)", "e2e_seconds.p50"},
            {"E2E p90 (ms)", "e2e_seconds.p90"}, {"E2E p99 (ms)", "e2e_seconds.p99"},
            {"prefix cache hit rate", "prefix_cache_hit_rate"},
            {"prompt tokens (mean)", "prompt_tokens_actual_mean"},
            {"output tokens (mean)", "output_tokens_actual_mean"},
    };

    private BenchCompare() {
    }

    /** Reads both reports and renders the comparison as Markdown. */
    public static String compare(Path a, Path b) throws IOException {
        List<JsonNode> pa = points(a);
        List<JsonNode> pb = points(b);
        if (pa.size() != pb.size()) {
            throw new IllegalArgumentException(a + " has " + pa.size() + " load points and " + b + " has " + pb.size()
                    + "; compare reports of the same sweep");
        }
        StringBuilder sb = new StringBuilder();
        sb.append("A: ").append(a).append("\nB: ").append(b).append("\n");
        for (int i = 0; i < pa.size(); i++) {
            JsonNode sa = pa.get(i).get("summary");
            JsonNode sbn = pb.get(i).get("summary");
            sb.append("\n### ").append(pa.get(i).path("load").asText("?")).append(" vs ")
                    .append(pb.get(i).path("load").asText("?")).append("\n\n");
            sb.append("| metric | A | B | B/A |\n| --- | ---: | ---: | ---: |\n");
            for (String[] m : METRICS) {
                double va = Json.number(sa, m[1]);
                double vb = Json.number(sbn, m[1]);
                double scale = m[1].contains("_seconds.") ? 1e3 : 1;
                sb.append("| ").append(m[0]).append(" | ").append(fmt(va * scale)).append(" | ")
                        .append(fmt(vb * scale)).append(" | ")
                        .append(Double.isNaN(va) || Double.isNaN(vb) || va == 0 ? "-"
                                : String.format(Locale.ROOT, "%.3f", vb / va)).append(" |\n");
            }
        }
        return sb.toString();
    }

    private static List<JsonNode> points(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString());
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " is not a JSON report: " + e.getMessage());
        }
        List<JsonNode> out = new ArrayList<>();
        if (root.has("sweep")) {
            root.get("sweep").forEach(out::add);
        } else if (root.has("summary")) {
            out.add(root);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " has no summary: is it an armature bench load report?");
        }
        return out;
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e12 ? String.format(Locale.ROOT, "%.0f", v)
                : String.format(Locale.ROOT, "%.3f", v);
    }
}
