package ai.armature.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code armature bench load}: resolves the model, calibrates prompt sizes, then for each load point of the sweep
 * sends the warm-up requests, runs the measured load, and finally writes the JSON report, the charts and the
 * Markdown summary.
 */
public final class LoadBenchmark {

    /** The outcome of all load points. */
    public record Outcome(String model, Calibration.Result calibration, List<RunResult> runs, List<Summary> summaries,
                          List<Path> files) {
    }

    private final BenchConfig cfg;
    private final PrintStream out;
    private final PrintStream err;

    public LoadBenchmark(BenchConfig cfg, PrintStream out, PrintStream err) {
        this.cfg = cfg;
        this.out = out;
        this.err = err;
    }

    public Outcome run() throws IOException {
        String model;
        if (cfg.model() != null) {
            OpenAiClient.checkAuthorized(cfg.url(), cfg.apiKey(), cfg.requestTimeout());
            model = cfg.model();
        } else {
            model = OpenAiClient.firstModel(cfg.url(), cfg.apiKey(), cfg.requestTimeout());
        }
        MooncakeTrace trace = cfg.workload().equals("trace")
                ? MooncakeTrace.read(cfg.traceFile(), cfg.maxRequests() >= 0 ? cfg.maxRequests() + cfg.warmup() : -1)
                : null;
        try (OpenAiClient client = new OpenAiClient(cfg.url(), model, cfg.apiKey(), cfg.requestTimeout(),
                cfg.ignoreEos())) {
            Endpoint workloadEndpoint = cfg.workload().equals("multi-turn") ? Endpoint.CHAT : Endpoint.COMPLETIONS;
            Endpoint ep = cfg.endpoint() != null ? cfg.endpoint() : workloadEndpoint;
            Calibration.Result cal = cfg.calibrate() ? Calibration.run(client, ep, cfg.seed())
                    : new Calibration.Result(PromptText.uncalibrated(), false, "not calibrated (1 token per word assumed)");
            List<LoadShape> shapes = shapes();
            List<RunResult> runs = new ArrayList<>();
            List<Summary> summaries = new ArrayList<>();
            for (int point = 0; point < shapes.size(); point++) {
                LoadShape shape = shapes.get(point);
                // Each point its own prompts (and warm-up prompts): a point must not measure the prefix cache the
                // previous one filled. Reproducible from --seed all the same.
                long seed = pointSeed(cfg.seed(), point);
                Workload warm = workload(cal.text(), seed + 7919, trace);
                LoadRunner quiet = new LoadRunner(client, cfg.endpoint(), ProgressListener.NONE);
                if (cfg.warmup() > 0) {
                    int c = shape instanceof LoadShape.Closed cl ? Math.min(cl.concurrency(), cfg.warmup()) : 1;
                    quiet.run(warm, new LoadShape.Closed(c), cfg.warmup(), -1);
                }
                Workload measured = workload(cal.text(), seed, trace);
                long max = cfg.maxRequests();
                if (max < 0 && cfg.duration() == null && measured.totalRequests() < 0) {
                    throw new IllegalArgumentException("the synthetic workload needs --max-requests or --duration");
                }
                long expected = max >= 0 ? (measured.totalRequests() >= 0 ? Math.min(max, measured.totalRequests()) : max)
                        : (cfg.duration() == null ? measured.totalRequests() : -1);
                RunResult run;
                ProgressBar bar = cfg.progress() ? new ProgressBar(err, expected, shape.label()) : null;
                try {
                    LoadRunner runner = new LoadRunner(client, cfg.endpoint(), bar != null ? bar : ProgressListener.NONE);
                    run = runner.run(measured, shape, max, cfg.duration() == null ? -1 : cfg.duration().toNanos());
                } finally {
                    if (bar != null) {
                        bar.close();
                    }
                }
                runs.add(run);
                summaries.add(Summaries.of(run, cfg.sloTtftSeconds(), cfg.sloItlSeconds()));
            }
            List<Path> files = cfg.out() != null ? write(model, cal, runs, summaries) : List.of();
            String title = "armature bench load: " + workload(cal.text(), cfg.seed(), trace).describe() + " against "
                    + model + " at " + cfg.url();
            out.print(MarkdownReport.render(title, summaries, cal.note()));
            for (Path f : files) {
                out.println("wrote " + f);
            }
            return new Outcome(model, cal, runs, summaries, files);
        }
    }

    /** The seed of sweep point {@code point}: the run's for the first, well apart for the others. */
    static long pointSeed(long seed, int point) {
        return seed + point * 0x9E3779B97F4A7C15L;
    }

    private List<LoadShape> shapes() {
        List<LoadShape> shapes = new ArrayList<>();
        if (cfg.workload().equals("trace") && cfg.concurrency().isEmpty() && cfg.requestRates().isEmpty()) {
            shapes.add(new LoadShape.Scheduled());
        }
        for (int c : cfg.concurrency()) {
            shapes.add(new LoadShape.Closed(c));
        }
        for (double r : cfg.requestRates()) {
            shapes.add(new LoadShape.Poisson(r, cfg.seed()));
        }
        if (shapes.isEmpty()) {
            shapes.add(new LoadShape.Closed(cfg.workload().equals("multi-turn") ? cfg.users() : 1));
        }
        return shapes;
    }

    Workload workload(PromptText text, long seed, MooncakeTrace trace) {
        return switch (cfg.workload()) {
            case "synthetic" -> new SyntheticWorkload(seed, cfg.isl(), cfg.islStddev(), cfg.osl(), cfg.oslStddev(), text,
                    cfg.maxRequests() >= 0 ? cfg.maxRequests() : -1);
            case "shared-prefix" -> new SharedPrefixWorkload(seed, cfg.groups(), cfg.promptsPerGroup(), cfg.prefixLen(),
                    cfg.questionLen(), cfg.osl(), text);
            case "multi-turn" -> new MultiTurnWorkload(seed, cfg.users(), cfg.turns(), cfg.isl(), cfg.osl(),
                    cfg.systemPromptLen(), cfg.thinkTime().toNanos(), text);
            case "trace" -> new TraceWorkload(trace, cfg.timeFactor(), cfg.traceBlockTokens(), seed, text, 0);
            default -> throw new IllegalArgumentException("unknown workload " + cfg.workload());
        };
    }

    private List<Path> write(String model, Calibration.Result cal, List<RunResult> runs, List<Summary> summaries)
            throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("schema", "armature-bench-load/1");
        root.put("created", Instant.now().toString());
        ObjectNode c = root.putObject("config");
        c.put("url", cfg.url());
        c.put("model", model);
        c.put("workload", cfg.workload());
        c.put("endpoint", cfg.endpoint() == null ? null : cfg.endpoint().path());
        c.put("seed", cfg.seed());
        c.put("warmup", cfg.warmup());
        c.put("max_requests", cfg.maxRequests());
        Json.num(c, "duration_seconds", cfg.duration() == null ? Double.NaN : cfg.duration().toMillis() / 1e3);
        c.put("request_timeout_seconds", cfg.requestTimeout().toMillis() / 1e3);
        c.put("ignore_eos", cfg.ignoreEos());
        ObjectNode calib = c.putObject("calibration");
        calib.put("calibrated", cal.calibrated());
        calib.put("tokens_per_word", cal.text().tokensPerWord());
        calib.put("overhead_tokens", cal.text().overheadTokens());
        calib.put("note", cal.note());
        if (runs.size() == 1) {
            fill(root, runs.getFirst(), summaries.getFirst());
        } else {
            ArrayNode sweep = root.putArray("sweep");
            for (int i = 0; i < runs.size(); i++) {
                fill(sweep.addObject(), runs.get(i), summaries.get(i));
            }
        }
        Path file = cfg.out().toAbsolutePath();
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        json.writeValue(file.toFile(), root);
        List<Path> files = new ArrayList<>();
        files.add(file);
        if (cfg.charts()) {
            try {
                files.addAll(charts(file, runs, summaries));
            } catch (IOException | RuntimeException | LinkageError | InternalError e) {
                // A machine without fonts or AWT libraries still gets its JSON and Markdown.
                err.println("armature bench: charts skipped (" + e + ")");
            }
        }
        return files;
    }

    private static List<Path> charts(Path file, List<RunResult> runs, List<Summary> summaries) throws IOException {
        List<Path> files = new ArrayList<>();
        Path dir = file.getParent();
        String base = file.getFileName().toString().replaceFirst("\\.json$", "");
        for (int i = 0; i < runs.size(); i++) {
            String prefix = runs.size() == 1 ? base : base + "-" + slug(runs.get(i).shape().label());
            files.addAll(Charts.writePoint(dir, prefix, runs.get(i)));
        }
        if (runs.size() > 1) {
            files.add(Charts.writeSweep(dir, base, summaries));
        }
        return files;
    }

    private static void fill(ObjectNode node, RunResult run, Summary summary) {
        node.put("load", run.shape().label());
        node.set("summary", Json.summary(summary));
        ArrayNode reqs = node.putArray("requests");
        for (RequestRecord r : run.records()) {
            reqs.add(Json.request(r));
        }
    }

    private static String slug(String s) {
        return s.replaceAll("[^A-Za-z0-9.]+", "");
    }
}
