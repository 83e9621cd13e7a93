package ai.armature.cli;

import ai.armature.bench.BenchConfig;
import ai.armature.bench.Durations;
import ai.armature.bench.Endpoint;
import ai.armature.bench.LoadBenchmark;
import ai.armature.bench.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code armature bench load}: load-tests any OpenAI-compatible server and reports TTFT, ITL, E2E, throughput
 * and goodput. Only turns flags into a {@link BenchConfig}; the work is {@link LoadBenchmark}'s.
 */
@Command(name = "load", mixinStandardHelpOptions = true,
        description = "Load-test an OpenAI-compatible server: TTFT, ITL, E2E, throughput, goodput.")
public final class LoadBenchCommand implements Callable<Integer> {

    @Option(names = "--url", defaultValue = "http://localhost:8080", description = "Server root (default: ${DEFAULT-VALUE}, where armature serve listens).")
    String url;
    @Option(names = "--model", description = "Model name (default: the first of GET /v1/models).")
    String model;
    @Option(names = "--api-key", description = "Bearer token (default: $OPENAI_API_KEY if set).")
    String apiKey;
    @Option(names = "--workload", defaultValue = "synthetic",
            description = "synthetic, shared-prefix, multi-turn or trace (default: ${DEFAULT-VALUE}).")
    String workload;
    @Option(names = "--endpoint", description = "completions or chat (default: chat for multi-turn, else completions).")
    String endpoint;
    @Option(names = "--out", description = "JSON report; PNG charts are written next to it.")
    Path out;

    @Option(names = "--concurrency", split = ",", description = "Closed loop with C clients; a comma list is a sweep.")
    List<Integer> concurrency = List.of();
    @Option(names = "--request-rate", split = ",", description = "Open loop, Poisson arrivals per second; a comma list is a sweep.")
    List<Double> requestRate = List.of();
    @Option(names = "--max-requests", defaultValue = "-1",
            description = "Requests per load point (default: the workload's size; synthetic: 100 unless --duration).")
    long maxRequests;
    @Option(names = "--duration", description = "Stop each load point after this long (e.g. 60s, 5m).")
    String duration;
    @Option(names = "--warmup", defaultValue = "0", description = "Requests before each load point, not counted.")
    int warmup;
    @Option(names = "--seed", description = {"Seed for prompts, lengths and arrivals; the same seed sends the same requests again.",
            "Default: a new one each run (printed), so a repeated run does not measure the prefix cache the last one filled."})
    Long seed;
    @Option(names = "--request-timeout", defaultValue = "300s", description = "Per request (default: ${DEFAULT-VALUE}).")
    String requestTimeout;
    @Option(names = "--slo-ttft", description = "Goodput: TTFT objective (e.g. 500ms).")
    String sloTtft;
    @Option(names = "--slo-itl", description = "Goodput: mean inter-token latency objective (e.g. 50ms).")
    String sloItl;

    @Option(names = "--isl-stddev", defaultValue = "0", description = "Input length standard deviation (normal, clipped at 1).")
    double islStddev;
    @Option(names = "--osl-stddev", defaultValue = "0", description = "Output length standard deviation (normal, clipped at 1).")
    double oslStddev;
    @Option(names = "--time-scale", defaultValue = "1", description = "trace: multiply timestamps by this.")
    double timeScale;
    @Option(names = "--trace-block-tokens", defaultValue = "512",
            description = "trace: tokens per 512-token hash block (smaller shrinks prompts, keeps sharing).")
    int traceBlockTokens;

    @Mixin
    WorkloadOptions w;

    @Option(names = "--no-ignore-eos", description = "Do not send ignore_eos/min_tokens.")
    boolean noIgnoreEos;
    @Option(names = "--no-calibrate", description = "Skip measuring tokens per word against the server.")
    boolean noCalibrate;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;
    @Option(names = "--no-charts", description = "No PNG charts.")
    boolean noCharts;

    @Override
    public Integer call() throws Exception {
        if (!(w.speedup > 0) || !(timeScale > 0)) {
            throw new IllegalArgumentException("--speedup and --time-scale must be positive");
        }
        long max = maxRequests;
        if (max < 0 && duration == null && workload.equals("synthetic")) {
            max = 100;
        }
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        long seed = this.seed != null ? this.seed : java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 48);
        if (this.seed == null) System.err.println("armature: bench load: seed " + seed + " (--seed " + seed + " sends these requests again)");
        BenchConfig cfg = new BenchConfig(url, model, key, workload, endpoint == null ? null : Endpoint.parse(endpoint),
                concurrency, requestRate, max, duration == null ? null : Durations.parse(duration), warmup, seed,
                Durations.parse(requestTimeout), sloTtft == null ? -1 : Durations.seconds(sloTtft),
                sloItl == null ? -1 : Durations.seconds(sloItl), w.isl, islStddev, w.osl, oslStddev, w.groups,
                w.promptsPerGroup, w.prefixLen, w.questionLen, w.users, w.turns, Durations.parse(w.thinkTime), w.systemPromptLen,
                w.trace, timeScale / w.speedup, traceBlockTokens, !noIgnoreEos, !noCalibrate,
                !noProgress && ProgressBar.terminalAttached(), out, !noCharts);
        LoadBenchmark.Outcome o = new LoadBenchmark(cfg, System.out, System.err).run();
        return o.summaries().stream().allMatch(s -> s.requestsCompleted() == 0) ? 1 : 0;
    }
}
