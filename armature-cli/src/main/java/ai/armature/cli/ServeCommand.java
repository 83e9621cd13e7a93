package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerationEngine;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.ModelTokenizer;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;
import ai.armature.router.Router;
import ai.armature.router.disagg.DisaggregatedRouter;
import ai.armature.serving.ServingEngine;
import ai.armature.runtime.migration.MigratingEngine;
import ai.armature.router.RouterConfig;
import ai.armature.router.RouterMetrics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code armature serve}: the OpenAI-compatible server with its workers in one JVM. Ctrl-C or SIGTERM drains it:
 * new requests get 503, in-flight ones may finish within the grace period, the rest are cancelled, exit 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves a model over an OpenAI-compatible HTTP API.",
                "Endpoints: /v1/chat/completions, /v1/completions, /v1/responses, /v1/messages (Anthropic), /v1/embeddings,",
                "/v1/models, /tokenize, /detokenize, /health, /live, /metrics.",
                "Workers use continuous batching, a paged KV cache and prefix caching, optionally over",
                "host-memory (--kv-host-memory) and disk (--kv-disk-dir) KV tiers.",
                "Without --model it serves the demo model; with --upstream URL... it serves external engines",
                "(vLLM, SGLang, llama-server) as its workers, with --tokenizer.",
                "With --prefill-workers N --decode-workers M it disaggregates: long prompts are prefilled on prefill",
                "workers and their KV copied to the decode worker that generates the rest."})
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--model", description = "A GGUF model file, or a directory with one (and optionally tokenizer.json).")
    Path model;

    @Option(names = "--embeddings",
            description = {"Serve a decoder (Llama-family) model for POST /v1/embeddings only: the final hidden state of each",
                    "input's last token, L2-normalized (last-token pooling, as vLLM pools decoder embedding models).",
                    "Chat and completions then answer 400. GGUF embedding models (bert, nomic-bert) are served so without it."})
    boolean embeddings;

    @Option(names = "--served-model-name", description = "The model id clients use. Default: the file name without .gguf.")
    String servedModelName;






    @Option(names = "--workers", defaultValue = "1", description = "Engine replicas in this process, behind the router. Default: ${DEFAULT-VALUE}.")
    int workers;

    @Option(names = "--prefill-workers",
            description = {"Disaggregated serving: prefill workers in this process (with --decode-workers; replaces --workers).",
                    "Long prompts are prefilled there and their KV moved to a decode worker (see --max-local-prefill-tokens)."})
    Integer prefillWorkers;

    @Option(names = "--decode-workers", description = "Disaggregated serving: decode workers in this process (with --prefill-workers).")
    Integer decodeWorkers;

    @Option(names = "--kv-transfer-timeout", converter = DurationConverter.class,
            description = {"Disaggregation: how long a decode worker may take to fetch a prompt's KV from a prefill worker before",
                    "it computes the rest itself, and how long a prefill worker keeps KV nobody fetched. Default: 10s."})
    Duration kvTransferTimeout;

    @Option(names = "--threads-per-worker",
            description = {"Kernel threads of each engine worker's own pool, so workers compute at the same time on their own",
                    "cores. Default: the cores divided among --workers (at least 1)."})
    Integer threadsPerWorker;



    @Option(names = "--mock-profile",
            description = {"Serve with the simulated runner instead of the engine (no model math; the model gives only the tokenizer).",
                    "A built-in profile (h100-llama3-8b) with optional key=value overrides."})
    String mockProfile;

    @Mixin
    HttpOptions httpOptions;

    @Mixin
    WorkerOptions workerOptions;

    @Mixin
    RouterOptions routerOptions;

    @Mixin
    ApiFlags apiFlags;

    @Mixin
    RemotePrefillOptions remotePrefill;

    @Mixin
    UpstreamOptions upstreamOptions = new UpstreamOptions();

    @Spec
    CommandSpec spec;

    /** The disaggregation metrics when serving with prefill and decode workers, else null. */
    private DisaggregationMetrics disaggregationMetrics;

    /** How long serve waits for a first upstream to answer (vLLM can take minutes to load a model). */
    private static final Duration UPSTREAM_WAIT = Duration.ofMinutes(10);
    /** Request migration over upstreams: at most this many moves per request, waiting this long for a worker. */
    private static final int UPSTREAM_MIGRATION_LIMIT = 3;
    private static final Duration UPSTREAM_MIGRATION_WAIT = Duration.ofSeconds(30);

    @Override
    public Integer call() throws Exception {
        httpOptions.check();
        if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
        if (threadsPerWorker != null && threadsPerWorker < 1) {
            throw new IllegalArgumentException("--threads-per-worker must be at least 1, got " + threadsPerWorker);
        }
        if (threadsPerWorker != null && mockProfile != null) {
            throw new IllegalArgumentException("--threads-per-worker sizes the engine's kernels; the simulated runner (--mock-profile) has none");
        }
        apiFlags.options(); // a bad parser name fails before any model loads
        boolean disaggregated = prefillWorkers != null || decodeWorkers != null;
        RemotePrefillOptions.refuseUnless(disaggregated, spec, "applies with --prefill-workers and --decode-workers");
        if (!disaggregated && kvTransferTimeout != null) {
            throw new IllegalArgumentException("--kv-transfer-timeout applies with --prefill-workers and --decode-workers");
        }
        if (disaggregated) {
            if (prefillWorkers == null || decodeWorkers == null) {
                throw new IllegalArgumentException("disaggregated serving needs both --prefill-workers and --decode-workers");
            }
            if (prefillWorkers < 1 || decodeWorkers < 1) throw new IllegalArgumentException("--prefill-workers and --decode-workers must be at least 1");
            if (spec.commandLine().getParseResult().hasMatchedOption("--workers")) {
                throw new IllegalArgumentException("--workers does not apply with --prefill-workers and --decode-workers (they give the worker count)");
            }
            if (upstreamOptions.enabled()) throw new IllegalArgumentException("--prefill-workers and --decode-workers run engine workers; they do not apply with --upstream");
            if (kvTransferTimeout != null && (kvTransferTimeout.isNegative() || kvTransferTimeout.isZero())) {
                throw new IllegalArgumentException("--kv-transfer-timeout must be > 0");
            }
            workers = prefillWorkers + decodeWorkers;
        }
        if (embeddings && upstreamOptions.enabled()) throw new IllegalArgumentException("--embeddings does not apply with --upstream");
        if (upstreamOptions.enabled()) return serveUpstreams();
        RouterConfig routerConfig = disaggregated || routerOptions.enabled(workers) ? routerOptions.config() : null;
        Path path = model;
        if (path == null) {
            System.err.println(DemoModels.BANNER);
            path = DemoModels.cached(DemoModel.Preset.SMALL);
        }
        boolean bert = model != null && EmbeddingModels.isEmbeddingModel(path);
        if (embeddings || bert) return serveEmbeddings(path, !bert);
        MockProfile mock = mockProfile == null ? null : MockProfile.parse(mockProfile);
        ServingConfig perWorker = workerOptions.config(workers, httpOptions.maxQueued);
        try (LoadedModel m = mock == null ? LoadedModel.open(path) : null) {
            ModelTokenizer tok = m != null ? m.modelTokenizer() : ModelTokenizer.open(path);
            String name = servedModelName != null ? servedModelName : defaultName(path);
            if (model != null && m != null && m.demo()) System.err.println("armature: " + path + " is a demo model: random weights, meaningless text.");
            WorkerSpec workerSpec = mock == null ? WorkerSpec.engine(m, name, perWorker) : WorkerSpec.mock(tok, name, perWorker, mock);
            int threads = threadsPerWorker != null ? threadsPerWorker : WorkerFactory.defaultThreadsPerWorker(workers);
            GenerationEngine engine;
            Router router;
            if (disaggregated) {
                disaggregationMetrics = new DisaggregationMetrics();
                DisaggregatedRouter d = Workers.startDisaggregated(workerSpec, prefillWorkers, decodeWorkers, threads, routerConfig,
                        remotePrefill.rule(), kvTransferTimeout != null ? kvTransferTimeout : ServingEngine.DEFAULT_TRANSFER_TIMEOUT,
                        disaggregationMetrics);
                engine = d;
                router = d.router();
            } else {
                engine = Workers.start(workerSpec, workers, threads, routerConfig);
                router = engine instanceof Router r ? r : null;
            }
            try {
                String count = disaggregated ? String.format("%d prefill + %d decode workers (remote prefill above %d uncached tokens)",
                        prefillWorkers, decodeWorkers, remotePrefill.maxLocalPrefillTokens) : workers + " worker(s)";
                String what = String.format("'%s' (%s%s) with %s%s", name, path,
                        mockProfile != null ? ", simulated runner " + mockProfile : "", count,
                        routerConfig != null ? ", router " + routerConfig.policy() : "");
                EngineStats stats = engine.stats();
                StringBuilder kv = new StringBuilder(String.format("KV cache: %d blocks of %d tokens (%d tokens); context %d tokens",
                        stats.kvBlocksTotal(), workerOptions.blockSize, stats.kvBlocksTotal() * workerOptions.blockSize, engine.maxContextTokens()));
                for (var t : engine.kvTierStats()) {
                    kv.append(String.format("%narmature: KV %s tier: %d blocks (%d tokens)%s", t.tier().name().toLowerCase(java.util.Locale.ROOT),
                            t.capacityBlocks(), t.capacityBlocks() * workerOptions.blockSize,
                            t.blocks() > 0 ? ", " + t.blocks() + " blocks kept from the last run" : ""));
                }
                runServer(name, engine, router, tok, what, kv.toString());
            } finally {
                engine.close();
            }
        }
        return 0;
    }

    /** serve --upstream: the frontend and router in front of external engines. */
    private int serveUpstreams() throws Exception {
        for (String o : new String[] {"--model", "--mock-profile", "--workers", "--threads-per-worker", "--max-batched-tokens", "--max-seqs",
                "--kv-cache-memory", "--kv-type", "--block-size", "--kv-host-memory", "--kv-disk-dir", "--kv-disk-size"}) {
            if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                throw new IllegalArgumentException(o + " does not apply with --upstream (the upstream engines run their own workers)");
            }
        }
        Path tokPath = upstreamOptions.tokenizerSource();
        ModelTokenizer tok = ModelTokenizer.open(tokPath);
        String name = servedModelName != null ? servedModelName : defaultName(tokPath);
        RouterConfig routerConfig = routerOptions.config();
        try (UpstreamWorkers upstreams = new UpstreamWorkers(upstreamOptions.configs(name, tok, i -> "upstream-" + i), upstreamOptions.kvEvents, routerConfig)) {
            upstreams.start();
            if (!upstreams.awaitAny(UPSTREAM_WAIT, Duration.ofSeconds(10))) {
                throw new CliErrors.UserError("no upstream answered within " + UPSTREAM_WAIT.toMinutes() + " minutes");
            }
            // A request whose upstream dies mid-stream resumes on another (prompt + tokens so far, same sampling).
            GenerationEngine engine = new MigratingEngine(upstreams.router(), UPSTREAM_MIGRATION_LIMIT, UPSTREAM_MIGRATION_WAIT);
            String what = String.format("'%s' through %d %s upstream(s) (%s), router %s", name, upstreams.engines().size(),
                    upstreamOptions.kind().cliName(), String.join(", ", upstreamOptions.upstreams), routerConfig.policy());
            String kv = String.format("KV routing: %s; context %d tokens", upstreamOptions.kvEvents.isEmpty()
                    ? "approximate (no --kv-events)" : "exact from the upstreams' KV events", engine.maxContextTokens());
            runServer(name, engine, upstreams.router(), tok, what, kv);
        }
        return 0;
    }

    /**
     * serve --model an embedding model (GGUF bert), or a decoder model with --embeddings: /v1/embeddings embeds;
     * chat and completions answer 400. The generation workers' options do not apply and are refused.
     */
    private int serveEmbeddings(Path path, boolean decoder) throws Exception {
        for (String o : new String[] {"--mock-profile", "--workers", "--threads-per-worker", "--router", "--tool-call-parser", "--reasoning-parser",
                "--responses-store-size", "--prefill-workers", "--decode-workers", "--max-batched-tokens", "--max-seqs", "--kv-cache-memory",
                "--kv-type", "--block-size", "--kv-host-memory", "--kv-disk-dir", "--kv-disk-size"}) {
            if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                throw new IllegalArgumentException(o + (decoder ? " does not apply with --embeddings" : " does not apply to an embedding model"));
            }
        }
        String name = servedModelName != null ? servedModelName : defaultName(path);
        try (EmbeddingModels.Opened m = decoder ? EmbeddingModels.openDecoder(path, name, httpOptions.maxQueued) : EmbeddingModels.open(path, name, httpOptions.maxQueued)) {
            FrontendConfig config = httpOptions.config(name, apiFlags.options());
            OpenAiServer server = OpenAiServer.forEmbeddings(config, m.worker(), m.refusing(), m.tokenizer(), m.chatTemplate());
            runServer(server, String.format("embedding model '%s' (%s, %d dimensions, %s pooling)", name, path,
                    m.worker().dimensions(), m.pooling()), "inputs up to " + m.worker().maxInputTokens() + " tokens");
        }
        return 0;
    }

    private void runServer(String name, GenerationEngine engine, Router router, ModelTokenizer tok, String what, String kvLine)
            throws InterruptedException {
        OpenAiServer server = new OpenAiServer(httpOptions.config(name, apiFlags.options()), engine, tok.tokenizer(), tok.chatTemplate());
        if (router != null) RouterMetrics.of(name, router).register(server.metricsRegistry());
        if (disaggregationMetrics != null) disaggregationMetrics.register(server.metricsRegistry(), true, true);
        runServer(server, what, kvLine);
    }

    private void runServer(OpenAiServer server, String what, String kvLine) throws InterruptedException {
        httpOptions.serveUntilStopped(server, url -> {
            System.err.println("armature: serving " + what);
            System.err.println("armature: " + kvLine);
            System.err.printf("armature: ready: %s (Ctrl-C to stop)%n", url);
        });
    }

    static String defaultName(Path path) {
        String f = path.getFileName().toString();
        return f.endsWith(".gguf") ? f.substring(0, f.length() - 5) : f;
    }
}
