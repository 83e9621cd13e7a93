package ai.armature.sim;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

/** The results of a set of runs: a table for people, one JSON object for programs (field names in snake_case). */
public final class SimReport {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private SimReport() {
    }

    /** One row per run; then, per run, how the pool was sized and what it cost. */
    public static void table(PrintWriter out, String workload, List<PolicyResult> results) {
        out.println("workload: " + workload);
        out.printf("%-19s %-7s %8s %9s %9s %9s %9s %9s %9s %10s %7s %7s %15s%n", "router", "planner", "requests", "TTFT p50", "TTFT p90",
                "TTFT p99", "ITL p50", "ITL p99", "E2E p50", "out tok/s", "hit", "pred.", "load max/min");
        for (PolicyResult r : results) {
            out.printf("%-19s %-7s %8s %9s %9s %9s %9s %9s %9s %10.0f %6.1f%% %6.1f%% %7.2f / %.2f%n", r.router(), r.planner(),
                    r.completed() + (r.failed() > 0 ? "!" : ""), secs(r.ttftP50S()), secs(r.ttftP90S()), secs(r.ttftP99S()),
                    secs(r.itlP50S()), secs(r.itlP99S()), secs(r.e2eP50S()), r.outputTokensPerS(), 100 * r.prefixHitRate(),
                    100 * r.predictedHitRate(), r.busiestWorkerLoad(), r.idlestWorkerLoad());
        }
        out.printf("%-19s %-7s %8s %12s %9s %9s %9s %8s %8s %6s %10s %9s%n", "router", "planner", "workers", "worker-s", "SLO met", "TTFT met",
                "ITL met", "util.", "scale ev", "lost", "migrated", "timed out");
        for (PolicyResult r : results) {
            out.printf("%-19s %-7s %8s %12.0f %8.2f%% %8.2f%% %8.2f%% %7.1f%% %8d %6d %10d %9d%n", r.router(), r.planner(),
                    r.planner().equals("static") ? String.valueOf(r.workers()) : r.workers() + ".." + r.peakWorkers(), r.workerSeconds(),
                    100 * r.sloAttainment(), 100 * r.ttftAttainment(), 100 * r.itlAttainment(), 100 * r.utilization(), r.scaleEvents(),
                    r.requestsLost(), r.migrations(), r.requestsTimedOut());
        }
        if (results.stream().anyMatch(r -> r.prefillWorkers() > 0)) {
            out.printf("%-19s %-7s %8s %14s %8s %8s %9s %10s %10s %12s%n", "router", "planner", "pool", "out tok/s/wkr", "remote",
                    "local", "fallback", "transfers", "KV moved", "transfer avg");
            for (PolicyResult r : results) {
                out.printf("%-19s %-7s %8s %14.1f %8d %8d %9d %10d %9.1fG %12s%n", r.router(), r.planner(), r.pool(),
                        r.outputTokensPerSPerWorker(), r.remotePrefills(), r.localPrefills(), r.prefillFallbacks(), r.kvTransfers(),
                        r.kvTransferBytes() / 1e9, r.kvTransfers() == 0 ? "-" : secs(r.kvTransferSeconds() / r.kvTransfers()));
            }
        }
        out.flush();
    }

    /** The JSON document: the workload, the settings that matter, and a {@code results} list. */
    public static String json(String workload, Map<String, Object> settings, List<PolicyResult> results) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("workload", workload);
        doc.put("settings", settings);
        doc.put("results", results);
        return JSON.writeValueAsString(doc);
    }

    public static void writeJson(Path file, String json) throws IOException {
        Files.writeString(file, json + "\n");
    }

    private static String secs(double s) {
        if (Double.isNaN(s)) return "-";
        if (s < 1) return String.format("%.1fms", s * 1e3);
        return String.format("%.2fs", s);
    }
}
