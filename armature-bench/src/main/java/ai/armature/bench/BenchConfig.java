package ai.armature.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything {@code armature bench load} was asked to do. The CLI fills it from flags; tests build it directly.
 *
 * @param model             null: ask {@code GET /v1/models} and take the first
 * @param endpoint          null: each workload's own endpoint (completions, or chat for multi-turn)
 * @param concurrency       closed-loop sweep points (empty when {@code requestRates} is used)
 * @param requestRates      open-loop sweep points in requests/s (empty for closed loop)
 * @param maxRequests       requests per load point, -1 for the workload's own size (unbounded synthetic needs a
 *                          duration)
 * @param duration          per load point, null for none
 * @param warmup            requests sent before each load point and left out of its figures
 * @param traceFile         Mooncake JSONL for the trace workload
 * @param timeFactor        trace timestamps are multiplied by this ({@code --time-scale / --speedup})
 * @param traceBlockTokens  tokens per synthesised 512-token trace block (512 keeps the trace's lengths)
 * @param calibrate         measure tokens per word against the server before the run
 * @param out               JSON report (charts go next to it); null for none
 */
public record BenchConfig(String url, String model, String apiKey, String workload, Endpoint endpoint,
                          List<Integer> concurrency, List<Double> requestRates, long maxRequests, Duration duration,
                          int warmup, long seed, Duration requestTimeout, double sloTtftSeconds, double sloItlSeconds,
                          int isl, double islStddev, int osl, double oslStddev,
                          int groups, int promptsPerGroup, int prefixLen, int questionLen,
                          int users, int turns, Duration thinkTime, int systemPromptLen,
                          Path traceFile, double timeFactor, int traceBlockTokens,
                          boolean ignoreEos, boolean calibrate, boolean progress, Path out, boolean charts) {

    /** The names {@code --workload} accepts. */
    public static final List<String> WORKLOADS = List.of("synthetic", "shared-prefix", "multi-turn", "trace");

    public BenchConfig {
        if (!WORKLOADS.contains(workload)) {
            throw new IllegalArgumentException("unknown workload '" + workload + "': use one of " + WORKLOADS);
        }
        concurrency = List.copyOf(concurrency);
        requestRates = List.copyOf(requestRates);
        if (!concurrency.isEmpty() && !requestRates.isEmpty()) {
            throw new IllegalArgumentException("give --concurrency or --request-rate, not both");
        }
        if (workload.equals("trace") && traceFile == null) {
            throw new IllegalArgumentException("the trace workload needs --trace FILE (Mooncake JSONL)");
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup must be >= 0");
        }
    }
}
