package ai.armature.cli;

import ai.armature.bench.Durations;
import ai.armature.bench.MooncakeTrace;
import ai.armature.router.RouterConfig;
import ai.armature.router.policy.RoutingPolicy;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;
import ai.armature.planner.PlannerConfig;
import ai.armature.planner.QueueThresholdPolicy;
import ai.armature.planner.SlaPlanner;
import ai.armature.planner.model.LatencyModel;
import ai.armature.planner.model.PerformanceModel;
import ai.armature.planner.profile.PerformanceProfile;
import ai.armature.planner.profile.ProfileJson;
import ai.armature.planner.profile.Profiler;
import ai.armature.sim.BurstLoad;
import ai.armature.sim.MooncakeReplay;
import ai.armature.sim.MultiTurnLoad;
import ai.armature.sim.PolicyResult;
import ai.armature.sim.SharedPrefixLoad;
import ai.armature.sim.SimCharts;
import ai.armature.sim.SimReport;
import ai.armature.sim.SimWorkload;
import ai.armature.sim.Simulation;
import ai.armature.sim.Simulator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code armature simulate}: the factory in virtual time. N simulated workers (the real scheduler and KV cache
 * manager over the mocker runner) behind the real router, once per routing policy and per way of sizing the pool
 * (a static fleet, the SLA planner, the queue-threshold baseline), replaying a Mooncake trace or a synthetic
 * workload; prints one row per run (or JSON) and writes plots. Only turns flags into settings; the work is
 * {@link Simulator}'s.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Simulates N workers behind the router in virtual time, once per routing policy and --planner: the real"
                + " scheduler and KV cache with the simulated runner (--mock-profile), fed by a Mooncake trace (--trace) or the"
                + " shared-prefix / multi-turn / burst workloads; with --prefill-workers/--decode-workers, disaggregated prefill and"
                + " decode with KV transfers in virtual time. Deterministic for a given seed.")
final class SimulateCommand implements Callable<Integer> {

    /** The h100-llama3-8b with Llama 3.1's 128k context: the Mooncake trace has prompts up to 126k tokens. */
    static final String DEFAULT_PROFILE = "h100-llama3-8b,max_context=131072";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--workers", defaultValue = "16", description = "Simulated workers (with a planner: at the start). Default: ${DEFAULT-VALUE}.")
    int workers;
    @Option(names = "--prefill-workers",
            description = {"Disaggregated: simulated prefill workers (with --decode-workers; replaces --workers), as serve's. Requests go",
                    "through the frontend's disaggregated router (--max-local-prefill-tokens, --max-prefill-queue-tokens)."})
    Integer prefillWorkers;
    @Option(names = "--decode-workers", description = "Disaggregated: simulated decode workers (with --prefill-workers).")
    Integer decodeWorkers;
    @Option(names = "--transfer-bandwidth", description = {"Disaggregated: GB/s of each worker's link for KV transfers; a transfer takes its",
            "blocks' bytes (the profile's kv_bytes_per_token x block size each) over it. Default: 50."})
    Double transferBandwidth;
    @Mixin
    RemotePrefillOptions remotePrefill;
    @Option(names = "--planner", split = ",", defaultValue = "static",
            description = "How the pool is sized, comma separated: static (--workers), sla (the SLA planner), queue (the threshold baseline). Default: ${DEFAULT-VALUE}.")
    List<String> planners;
    @Option(names = "--profile", description = "sla: the workers' profile (default: the simulated runner profiled on its virtual clock with these worker options).")
    Path profileFile;
    @Option(names = "--drain-timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "A draining worker's requests are handed back (migrated) after this long. Default: ${DEFAULT-VALUE}.")
    java.time.Duration drainTimeout;
    @Mixin
    PlanningOptions planning;
    @Option(names = "--router", split = ",", defaultValue = "kv,round-robin,least-loaded",
            description = "Policies to compare, comma separated: kv, round-robin, least-loaded, random, sglang-cache-aware, lmetric, or all. Default: ${DEFAULT-VALUE}.")
    List<String> routers;
    @Option(names = "--router-temperature", defaultValue = "0", description = "kv policy: softmax temperature. Default: ${DEFAULT-VALUE}.")
    double temperature;
    @Option(names = "--router-prefill-weight", defaultValue = "" + RouterConfig.DEFAULT_PREFILL_WEIGHT,
            description = "kv policy: prefill weight of the cost. Default: ${DEFAULT-VALUE}.")
    double prefillWeight;
    @Option(names = "--router-queue-weight", defaultValue = "" + RouterConfig.DEFAULT_QUEUE_WEIGHT,
            description = "kv policy: weight of the prompt tokens queued on a worker in the cost. Default: ${DEFAULT-VALUE}.")
    double queueWeight;
    @Option(names = "--router-busy-prefill-tokens", defaultValue = "" + RouterConfig.DEFAULT_BUSY_PREFILL_TOKENS,
            description = {"A worker with this many prompt tokens queued for prefill is busy; while every worker is busy, requests",
                    "wait at the router (see --router-wait-timeout). 0: never wait. Default: ${DEFAULT-VALUE}."})
    long busyPrefillTokens;
    @Option(names = "--router-wait-timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = {"A request waiting at the router longer than this ends with an error, as the real router's (a 503 in",
                    "serve and frontend, the same default); counted as timed out, and as missing the SLO (0: no limit).",
                    "Default: ${DEFAULT-VALUE}."})
    java.time.Duration waitTimeout;
    @Option(names = "--router-lifo-after", converter = DurationConverter.class,
            description = {"While the oldest request waiting at the router has waited this long, the newest go first (adaptive",
                    "LIFO); 0: always oldest first. Default: the --ttft-slo."})
    java.time.Duration lifoAfter;
    @Option(names = "--workload", description = "trace (the default with --trace), shared-prefix, multi-turn or burst.")
    String workload;
    @Option(names = "--max-requests", defaultValue = "-1", description = "trace: replay only the first N requests.")
    long maxRequests;
    @Option(names = "--mock-profile", defaultValue = DEFAULT_PROFILE,
            description = {"The simulated model and GPU: a built-in profile with key=value overrides.", "Default: ${DEFAULT-VALUE}."})
    String mockProfile;
    @Option(names = "--block-size", defaultValue = "16", description = "Tokens per KV block. Default: ${DEFAULT-VALUE}.")
    int blockSize;
    @Option(names = "--max-batched-tokens", defaultValue = "" + ServingConfig.DEFAULT_MAX_BATCHED_TOKENS,
            description = {"Token budget of a worker's step (decodes first, then prompt chunks); the same default as a served",
                    "worker's (serve, worker), so a simulated worker is the worker that is served. Default: ${DEFAULT-VALUE}."})
    int maxBatchedTokens;
    @Option(names = "--max-seqs", defaultValue = "" + ServingConfig.DEFAULT_MAX_SEQS,
            description = "Most sequences a worker runs at once (a served worker's default). Default: ${DEFAULT-VALUE}.")
    int maxSeqs;
    @Option(names = "--kv-event-loss", defaultValue = "0", description = "Share of KV events the event plane loses (tests resync). Default: ${DEFAULT-VALUE}.")
    double kvEventLoss;
    @Option(names = "--seed", defaultValue = "1", description = "Seed for tokens, arrivals and the router. Default: ${DEFAULT-VALUE}.")
    long seed;
    @Option(names = "--threads", description = "Policies simulated at once (default: the number of cores).")
    Integer threads;
    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;
    @Option(names = "--out", description = "Directory for results.json and PNG plots (TTFT CDF, worker load over time).")
    Path out;

    @Mixin
    WorkloadOptions w;

    @Option(names = "--request-rate", defaultValue = "0", description = "shared-prefix, burst: Poisson arrivals per second (shared-prefix: 0 is all at once).")
    double requestRate;
    @Option(names = "--duration", defaultValue = "600s", converter = DurationConverter.class, description = "burst: how long requests arrive. Default: ${DEFAULT-VALUE}.")
    java.time.Duration duration;
    @Option(names = "--burst-factor", defaultValue = "10", description = "burst: the rate during the burst over --request-rate. Default: ${DEFAULT-VALUE}.")
    double burstFactor;
    @Option(names = "--burst-at", defaultValue = "200s", converter = DurationConverter.class, description = "burst: when it starts. Default: ${DEFAULT-VALUE}.")
    java.time.Duration burstAt;
    @Option(names = "--burst-seconds", defaultValue = "120s", converter = DurationConverter.class, description = "burst: how long it lasts. Default: ${DEFAULT-VALUE}.")
    java.time.Duration burstSeconds;
    @Option(names = "--isl-stddev", defaultValue = "0", description = "burst: prompt length standard deviation. Default: ${DEFAULT-VALUE}.")
    double islStddev;
    @Option(names = "--osl-stddev", defaultValue = "0", description = "burst: output length standard deviation. Default: ${DEFAULT-VALUE}.")
    double oslStddev;

    @Override
    public Integer call() throws Exception {
        List<String> policies = routers.size() == 1 && routers.getFirst().equals("all") ? RoutingPolicy.NAMES : routers;
        for (String p : policies) {
            if (!RoutingPolicy.NAMES.contains(p)) {
                throw new IllegalArgumentException("--router: unknown policy '" + p + "': use " + String.join(", ", RoutingPolicy.NAMES) + " or all");
            }
        }
        if (!(w.speedup > 0) || Double.isInfinite(w.speedup)) throw new IllegalArgumentException("--speedup must be a positive number");
        MockProfile profile = MockProfile.parse(mockProfile);
        if (maxBatchedTokens > WorkerOptions.MAX_BATCHED_TOKENS_LIMIT) {
            throw new IllegalArgumentException("--max-batched-tokens must be at most " + WorkerOptions.MAX_BATCHED_TOKENS_LIMIT);
        }
        ServingConfig serving = ServingConfig.defaults().withBlockSize(blockSize).withMaxBatchedTokens(maxBatchedTokens).withMaxSeqs(maxSeqs);
        String kind = workload != null ? workload : w.trace != null ? "trace" : null;
        if (kind == null) throw new IllegalArgumentException("give --trace FILE or --workload shared-prefix|multi-turn");
        Supplier<SimWorkload> source = workload(kind, profile.vocabSize());
        RouterConfig base = RouterConfig.defaults().withRouterId("sim").withSeed(seed).withTemperature(temperature).withPrefillWeight(prefillWeight).withQueueWeight(queueWeight)
                .withBusyPrefillTokens(busyPrefillTokens).withWaitTimeout(waitTimeout).withLifoAfter(lifoAfter());
        PlannerConfig planner = planning.config();
        Simulation.Disaggregation disaggregation = disaggregation();
        if (disaggregation != null) workers = disaggregation.prefillWorkers() + disaggregation.decodeWorkers();
        List<Simulation.Plan> plans = plans(planner, profile, serving);
        List<Simulator.Job> runs = new ArrayList<>();
        for (Simulation.Plan plan : plans) {
            if (disaggregation != null && plan.policy() != null) {
                throw new IllegalArgumentException("--planner " + plan.name() + " sizes an aggregated pool: it does not apply with --prefill-workers and --decode-workers");
            }
            for (String p : policies) {
                runs.add(new Simulator.Job(new Simulation.Settings(workers, profile, serving, base.withPolicy(p), 1_000_000_000L, kvEventLoss, seed,
                        disaggregation), plan));
            }
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        long start = System.nanoTime();
        List<Simulator.Run> done = Simulator.run(runs, source, n, line -> {
            synchronized (err) {
                err.println(line);
                err.flush();
            }
        });
        err.printf("armature: %d simulation(s) took %.1f s of wall time (load average %s)%n", done.size(),
                (System.nanoTime() - start) / 1e9, loadAverage());
        List<PolicyResult> results = new ArrayList<>();
        List<Simulation.Outcome> outcomes = new ArrayList<>();
        boolean ok = true;
        for (Simulator.Run r : done) {
            results.add(r.outcome().result());
            outcomes.add(r.outcome());
            for (String v : r.outcome().violations()) {
                err.println("armature: " + r.outcome().result().router() + "/" + r.outcome().result().planner() + ": " + v);
                ok = false;
            }
        }
        String description = source.get().describe();
        String doc = SimReport.json(description, settings(profile), results);
        if (json) {
            stdout.println(doc);
            stdout.flush();
        } else {
            SimReport.table(stdout, description + ", " + workers + " workers" + (plans.size() > 1 || plans.getFirst().policy() != null
                    ? String.format(" (planned: %d..%d, startup %.0f s, interval %.0f s)", planner.minWorkers(), planner.maxWorkers(),
                    planner.workerStartupSeconds(), planner.intervalSeconds()) : "") + String.format("; targets TTFT %.3f s, ITL %.3f s",
                    planner.slo().ttftSeconds(), planner.slo().itlSeconds()), results);
        }
        if (out != null) {
            Files.createDirectories(out);
            SimReport.writeJson(out.resolve("results.json"), doc);
            List<Path> files = SimCharts.write(out, outcomes);
            err.println("armature: wrote " + out.resolve("results.json") + " and " + files.size() + " plot(s)");
        }
        err.flush();
        return ok ? 0 : 1;
    }

    /** The prefill/decode split and the rule, or null for aggregated workers (refusing options that need a split). */
    private Simulation.Disaggregation disaggregation() {
        boolean disaggregated = prefillWorkers != null || decodeWorkers != null;
        RemotePrefillOptions.refuseUnless(disaggregated, spec, "applies with --prefill-workers and --decode-workers");
        if (!disaggregated) {
            if (transferBandwidth != null) throw new IllegalArgumentException("--transfer-bandwidth applies with --prefill-workers and --decode-workers");
            return null;
        }
        if (prefillWorkers == null || decodeWorkers == null) {
            throw new IllegalArgumentException("a disaggregated simulation needs both --prefill-workers and --decode-workers");
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--workers")) {
            throw new IllegalArgumentException("--workers does not apply with --prefill-workers and --decode-workers (they give the worker count)");
        }
        double gbps = transferBandwidth == null ? Simulation.Disaggregation.DEFAULT_TRANSFER_BYTES_PER_SECOND / 1e9 : transferBandwidth;
        if (!(gbps > 0) || Double.isInfinite(gbps)) throw new IllegalArgumentException("--transfer-bandwidth must be a positive number of GB/s, got " + gbps);
        return new Simulation.Disaggregation(prefillWorkers, decodeWorkers, gbps * 1e9, remotePrefill.rule());
    }

    private Supplier<SimWorkload> workload(String kind, int vocab) throws java.io.IOException {
        return switch (kind) {
            case "trace" -> {
                if (w.trace == null) throw new IllegalArgumentException("--workload trace needs --trace FILE");
                MooncakeTrace t = MooncakeTrace.read(w.trace, maxRequests);
                yield () -> new MooncakeReplay(t, w.speedup, vocab, seed);
            }
            case "shared-prefix" -> {
                new SharedPrefixLoad(w.groups, w.promptsPerGroup, w.prefixLen, w.questionLen, w.osl, requestRate, vocab, seed);
                yield () -> new SharedPrefixLoad(w.groups, w.promptsPerGroup, w.prefixLen, w.questionLen, w.osl, requestRate, vocab, seed);
            }
            case "multi-turn" -> {
                long think = Durations.parse(w.thinkTime).toNanos();
                new MultiTurnLoad(w.users, w.turns, w.isl, w.osl, w.systemPromptLen, think, vocab, seed);
                yield () -> new MultiTurnLoad(w.users, w.turns, w.isl, w.osl, w.systemPromptLen, think, vocab, seed);
            }
            case "burst" -> {
                double d = duration.toMillis() / 1e3, at = burstAt.toMillis() / 1e3, len = burstSeconds.toMillis() / 1e3;
                new BurstLoad(requestRate, burstFactor, at, len, d, w.isl, islStddev, w.osl, oslStddev, w.systemPromptLen, vocab, seed);
                yield () -> new BurstLoad(requestRate, burstFactor, at, len, d, w.isl, islStddev, w.osl, oslStddev, w.systemPromptLen, vocab, seed);
            }
            default -> throw new IllegalArgumentException("--workload must be trace, shared-prefix, multi-turn or burst, got '" + kind + "'");
        };
    }

    /** One plan per --planner name; the SLA planner's profile is the simulated runner's own unless --profile says otherwise. */
    private List<Simulation.Plan> plans(PlannerConfig config, MockProfile profile, ServingConfig serving) {
        List<Simulation.Plan> plans = new ArrayList<>();
        double drain = drainTimeout.toMillis() / 1e3;
        LatencyModel model = null;
        for (String name : planners) {
            switch (name) {
                case "static" -> plans.add(new Simulation.Plan("static", null, config, drain));
                case "sla" -> {
                    if (model == null) model = new LatencyModel(new PerformanceModel(profile(profile, serving)));
                    LatencyModel m = model;
                    plans.add(new Simulation.Plan("sla", () -> new SlaPlanner(config, m), config, drain));
                }
                case "queue" -> plans.add(new Simulation.Plan("queue", () -> new QueueThresholdPolicy(config.minWorkers(), config.maxWorkers()), config, drain));
                default -> throw new IllegalArgumentException("--planner: unknown '" + name + "': use static, sla or queue");
            }
        }
        return plans;
    }

    private PerformanceProfile profile(MockProfile profile, ServingConfig serving) {
        if (profileFile != null) return ProfileJson.read(profileFile);
        Profiler p = Profiler.mock(profile, serving);
        try {
            return p.run(p.defaultSweep(), line -> { });
        } finally {
            p.close();
        }
    }

    private Map<String, Object> settings(MockProfile profile) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("workers", workers);
        if (prefillWorkers != null) {
            s.put("prefill_workers", prefillWorkers);
            s.put("decode_workers", decodeWorkers);
            s.put("transfer_bandwidth_gb_per_s", transferBandwidth == null ? Simulation.Disaggregation.DEFAULT_TRANSFER_BYTES_PER_SECOND / 1e9 : transferBandwidth);
            s.put("max_local_prefill_tokens", remotePrefill.maxLocalPrefillTokens);
            s.put("max_prefill_queue_tokens", remotePrefill.maxPrefillQueueTokens);
        }
        s.put("planners", planners);
        s.put("ttft_slo", planning.ttftSlo);
        s.put("itl_slo", planning.itlSlo);
        s.put("slo_attainment_target", planning.attainment);
        s.put("min_workers", planning.minWorkers);
        s.put("max_workers", planning.maxWorkers);
        s.put("worker_startup_seconds", planning.startupSeconds);
        s.put("interval_seconds", planning.interval.toMillis() / 1e3);
        s.put("predictor", planning.predictor);
        s.put("drain_timeout_seconds", drainTimeout.toMillis() / 1e3);
        s.put("mock_profile", mockProfile);
        s.put("block_size", blockSize);
        s.put("max_batched_tokens", maxBatchedTokens);
        s.put("max_seqs", maxSeqs);
        s.put("speedup", w.speedup);
        s.put("router_temperature", temperature);
        s.put("router_prefill_weight", prefillWeight);
        s.put("router_queue_weight", queueWeight);
        s.put("router_busy_prefill_tokens", busyPrefillTokens);
        s.put("router_wait_timeout_seconds", waitTimeout.toMillis() / 1e3);
        s.put("router_lifo_after_seconds", lifoAfter().toMillis() / 1e3);
        s.put("kv_event_loss", kvEventLoss);
        s.put("seed", seed);
        return s;
    }

    /**
     * {@code --router-lifo-after}, checked; by default the TTFT target the run is judged by: a request that has waited
     * that long at the router has missed it. Measured with the wait on: never lower SLO attainment than oldest first on
     * the burst and the Mooncake trace at 10, 60 and 120 s start-ups (but once by 0.1 point), and far higher once a
     * backlog formed (README, Planner); a bound far below the target (0.5 s for a 10 s target) made the Mooncake queue
     * baseline worse.
     */
    private java.time.Duration lifoAfter() {
        if (lifoAfter == null) return java.time.Duration.ofNanos(Math.round(planning.ttftSlo * 1e9));
        if (lifoAfter.isNegative()) throw new IllegalArgumentException("--router-lifo-after must be >= 0 (0: always oldest first)");
        return lifoAfter;
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
