package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.planner.signal.TrafficMeter;
import ai.armature.protocol.ModelCard;
import ai.armature.runtime.discovery.Discovery;
import ai.armature.runtime.discovery.EtcdDiscovery;
import ai.armature.runtime.events.NatsEventPlane;
import ai.armature.runtime.events.WorkerEventPublisher;
import ai.armature.runtime.metrics.MetricsEndpoint;
import ai.armature.runtime.request.GrpcWorkerServer;
import ai.armature.runtime.request.KvFetchClient;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.ModelTokenizer;
import ai.armature.serving.worker.TokenizerBundle;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code armature worker}: one serving worker as its own process. It loads the model (or the simulated runner),
 * starts its gRPC request plane and a Prometheus endpoint, publishes KV events and load to NATS, registers its model
 * card in etcd, then prints one line starting with {@code ready}. SIGTERM (or Ctrl-C) drains it: it deregisters
 * first (no new request reaches it), lets in-flight requests finish within {@code --drain-timeout}, hands the rest
 * back to their frontends for migration, and exits 0.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = {"Runs one serving worker for a distributed deployment (see 'armature frontend').",
                "Registers in etcd (--discovery), publishes KV events and load on NATS (--events), serves requests over gRPC.",
                "Prints 'ready worker=ID grpc=HOST:PORT metrics=URL model=NAME' once it is registered in etcd and takes requests;",
                "while etcd cannot be reached it waits (retrying every second, logging why every 10 s) and is not ready.",
                "A worker started while NATS cannot be reached exits at once with 'cannot connect to NATS at ...'.",
                "SIGTERM drains: deregister, finish within --drain-timeout, hand the rest back for migration, exit 0.",
                "With --upstream URL --tokenizer ... it fronts an external engine (vLLM, SGLang, llama-server) instead,",
                "registered while that engine answers its health checks.",
                "--role prefill|decode makes it one half of disaggregated serving (see 'armature frontend')."})
final class WorkerCommand implements Callable<Integer> {

    @Option(names = "--model", description = "A GGUF model file, or a directory with one (and optionally tokenizer.json). Default: the demo model.")
    Path model;

    @Option(names = "--mock-profile",
            description = {"Run the simulated runner instead of the engine (no model math; --model only gives the tokenizer).",
                    "A built-in profile (h100-llama3-8b) with optional key=value overrides, e.g. h100-llama3-8b,weight_read_ms=50."})
    String mockProfile;

    @Option(names = "--served-model-name", description = "The model name clients use. Default: the file name without .gguf.")
    String servedModelName;

    @Option(names = "--worker-id", description = {"The id the worker registers under (letters, digits, '-', '_', '.'): the planner names the",
            "workers it starts, Kubernetes passes the pod name. Default: the model name and a random suffix."})
    String workerIdOption;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = {"Address the gRPC and metrics endpoints listen on and that frontends are told. Default: ${DEFAULT-VALUE}",
                    "(loopback: whoever reaches the gRPC port can make the worker work; use --tls-* on other interfaces)."})
    String host;

    @Option(names = "--grpc-port", defaultValue = "0", description = "gRPC port (0: any free port). Default: ${DEFAULT-VALUE}.")
    int grpcPort;

    @Option(names = "--metrics-port", defaultValue = "0", description = "Prometheus /metrics and /health port (0: any free port). Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    @Option(names = "--drain-timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "On SIGTERM, how long in-flight requests may finish before they are handed back. Default: ${DEFAULT-VALUE}.")
    Duration drainTimeout;

    @Option(names = "--lease-ttl", defaultValue = "10s", converter = DurationConverter.class,
            description = "etcd lease: a worker that dies disappears from discovery this long after. Default: ${DEFAULT-VALUE}.")
    Duration leaseTtl;

    @Option(names = "--load-interval", defaultValue = "1s", converter = DurationConverter.class,
            description = "How often the worker publishes its load. Default: ${DEFAULT-VALUE}.")
    Duration loadInterval;

    @Option(names = "--role", defaultValue = "both",
            description = {"What the worker does for its model: both (prefill and decode, the default), prefill (prompts for decode",
                    "workers, whose KV it hands over) or decode (generates; fetches long prompts' KV from prefill workers)."})
    String role;

    @Option(names = "--kv-transfer-timeout", defaultValue = "10s", converter = DurationConverter.class,
            description = {"Disaggregation: how long fetching a prompt's KV from a prefill worker may take before the rest is",
                    "computed here, and how long held KV waits for its decode worker. Default: ${DEFAULT-VALUE}."})
    Duration kvTransferTimeout;

    @Option(names = "--max-queued", defaultValue = "4096",
            description = "Most requests waiting to start before new ones are refused (the frontend tries another worker). Default: ${DEFAULT-VALUE}.")
    int maxQueued;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    WorkerOptions workerOptions;

    @Mixin
    UpstreamOptions upstreamOptions = new UpstreamOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (grpcPort < 0 || grpcPort > 65535 || metricsPort < 0 || metricsPort > 65535) throw new IllegalArgumentException("ports must be in [0, 65535]");
        if (maxQueued < 1) throw new IllegalArgumentException("--max-queued must be at least 1, got " + maxQueued);
        if (drainTimeout.isNegative()) throw new IllegalArgumentException("--drain-timeout must not be negative");
        if (loadInterval.toMillis() < 10) throw new IllegalArgumentException("--load-interval must be at least 10ms");
        String cardRole = switch (role) {
            case "both" -> ModelCard.ROLE_AGGREGATED;
            case "prefill" -> ModelCard.ROLE_PREFILL;
            case "decode" -> ModelCard.ROLE_DECODE;
            default -> throw new IllegalArgumentException("--role must be prefill, decode or both, got '" + role + "'");
        };
        if (kvTransferTimeout.isNegative() || kvTransferTimeout.isZero()) throw new IllegalArgumentException("--kv-transfer-timeout must be > 0");
        if (role.equals("both") && spec.commandLine().getParseResult().hasMatchedOption("--kv-transfer-timeout")) {
            throw new IllegalArgumentException("--kv-transfer-timeout applies with --role prefill or --role decode");
        }
        cluster.check();
        if (upstreamOptions.enabled()) {
            if (!role.equals("both")) throw new IllegalArgumentException("--role " + role + " needs an engine worker: an upstream engine is always 'both'");
            for (String o : new String[] {"--model", "--mock-profile", "--max-batched-tokens", "--max-seqs", "--kv-cache-memory",
                    "--kv-type", "--block-size", "--max-queued"}) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new IllegalArgumentException(o + " does not apply with --upstream (the upstream engine runs its own worker)");
                }
            }
            return UpstreamWorker.run(this);
        }
        MockProfile mock = mockProfile == null ? null : MockProfile.parse(mockProfile);
        ServingConfig config = workerOptions.config(1, maxQueued);
        Path path = model;
        if (path == null) {
            System.err.println(DemoModels.BANNER);
            path = DemoModels.cached(DemoModel.Preset.SMALL);
        }
        String name = servedModelName != null ? servedModelName : ServeCommand.defaultName(path);
        if (workerIdOption != null && !workerIdOption.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("--worker-id may hold letters, digits, '-', '_' and '.' only, got '" + workerIdOption + "'");
        }
        String workerId = workerIdOption != null ? workerIdOption
                : name.replaceAll("[^A-Za-z0-9_-]", "_") + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        try (LoadedModel m = mock == null ? LoadedModel.open(path) : null) {
            ModelTokenizer tok = m != null ? m.modelTokenizer() : ModelTokenizer.open(path);
            TokenizerBundle bundle = TokenizerBundle.of(tok);
            WorkerSpec spec = mock == null ? WorkerSpec.engine(m, name, config) : WorkerSpec.mock(tok, name, config, mock);
            try (NatsEventPlane events = cluster.events("worker " + workerId);
                 WorkerEventPublisher publisher = events.publisher(name, workerId);
                 ServingEngine engine = WorkerFactory.start(spec, publisher);
                 EtcdDiscovery discovery = cluster.discovery(leaseTtl);
                 KvFetchClient kvFetch = new KvFetchClient(new KvFetchClient.Options(cluster.tls(), KV_CHUNK_BYTES))) {
                Drain drain = new Drain();
                DisaggregationMetrics transfers = new DisaggregationMetrics();
                boolean disaggregates = !role.equals("both");
                if (disaggregates) engine.enableKvTransfer(new GrpcKvTransport(kvFetch), kvTransferTimeout, transfers);
                // The planner sizes pools from what workers serve: every request through the request plane is counted.
                TrafficMeter traffic = new TrafficMeter(engine, System::nanoTime);
                GrpcWorkerServer grpc = new GrpcWorkerServer(workerId, traffic, engine::kvSnapshot, bundle.bytes(), bundle.sha256(),
                        new GrpcWorkerServer.Config(host, grpcPort, cluster.tls(), Duration.ofSeconds(1)),
                        disaggregates ? GrpcKvTransport.serve(engine) : null);
                int boundGrpc;
                try {
                    boundGrpc = grpc.start();
                } catch (java.io.IOException e) {
                    throw new CliErrors.UserError("cannot listen for gRPC on " + host + ":" + grpcPort + ": " + e.getMessage());
                }
                PrometheusRegistry registry = registry(engine, grpc, drain);
                if (role.equals("decode")) transfers.register(registry, false, true);
                try (MetricsEndpoint metrics = new MetricsEndpoint(host, metricsPort, registry, () -> !drain.draining)) {
                    String metricsUrl = "http://" + host + ":" + metrics.port() + "/metrics";
                    ModelCard card = new ModelCard(workerId, name, engine.kvNamespace(), engine.maxContextTokens(), engine.blockSize(),
                            cardRole, host + ":" + boundGrpc, cluster.tls() != null, metricsUrl, bundle.sha256(),
                            bundle.bytes().length, true);
                    ScheduledExecutorService loads = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon(true)
                            .name("armature-load").unstarted(r));
                    loads.scheduleAtFixedRate(() -> {
                        publisher.publishLoad(engine.stats());
                        publisher.publishTraffic(traffic.snapshot());
                    }, 0, loadInterval.toMillis(), TimeUnit.MILLISECONDS);
                    CountDownLatch stop = StopSignals.install();
                    Discovery.Registration registration = discovery.register(card);
                    // Ready only once frontends can find it: while etcd cannot be reached the registration retries
                    // (and says why every 10 s); a stop signal meanwhile ends the worker without it.
                    if (awaitRegistration(registration, stop)) {
                        System.err.printf("armature: worker %s (%s) serving '%s' (%s%s); KV cache %d blocks of %d tokens; context %d%n", workerId,
                                cardRole, name, path, mock != null ? ", simulated runner " + mockProfile : "", engine.kvBlocksTotal(),
                                engine.blockSize(), engine.maxContextTokens());
                        System.out.printf("ready worker=%s grpc=%s:%d metrics=%s model=%s%n", workerId, host, boundGrpc, metricsUrl, name);
                        System.out.flush();
                        stop.await();
                    }

                    drain.draining = true;
                    drain(workerId, grpc, registration::close, drainTimeout);
                    loads.shutdownNow();
                    publisher.publishTraffic(traffic.snapshot()); // the drained requests' last counts
                    grpc.close();
                    System.err.println("armature: worker " + workerId + " stopped");
                }
            }
        }
        return 0;
    }

    /** Waits until {@code registration} is registered (true) or {@code stop} is signalled first (false). */
    static boolean awaitRegistration(Discovery.Registration registration, CountDownLatch stop) throws InterruptedException {
        while (stop.getCount() > 0) {
            if (registration.awaitRegistered(Duration.ofMillis(250))) return true;
        }
        return false;
    }

    /**
     * A worker's drain on SIGTERM: deregister first (no new request reaches it), let in-flight requests finish within
     * {@code timeout}, then hand the rest back to their frontends for migration.
     */
    static void drain(String workerId, GrpcWorkerServer grpc, Runnable deregister, Duration timeout) throws InterruptedException {
        System.err.println("armature: draining worker " + workerId + ": deregistered, finishing " + grpc.inFlight()
                + " request(s) within " + timeout.toSeconds() + " s");
        deregister.run();
        grpc.stopAccepting();
        if (!grpc.awaitIdle(timeout)) {
            int handed = grpc.handBack();
            System.err.println("armature: drain timeout: handed " + handed + " request(s) back to their frontends for migration");
            grpc.awaitIdle(Duration.ofSeconds(10));
        }
    }

    /** The KV chunk a decode worker asks prefill workers for: a few MiB per message keeps the hop's overhead small. */
    static final int KV_CHUNK_BYTES = 4 << 20;

    /** Whether the worker is draining (its /health then says so). */
    private static final class Drain {
        volatile boolean draining;
    }

    /** The worker's Prometheus metrics, read from its engine at scrape time. */
    private static PrometheusRegistry registry(ServingEngine engine, GrpcWorkerServer grpc, Drain drain) {
        PrometheusRegistry r = new PrometheusRegistry();
        GaugeWithCallback.builder().name("armature_requests_waiting").help("Requests queued in the engine")
                .callback(cb -> cb.call(engine.stats().waitingRequests())).register(r);
        GaugeWithCallback.builder().name("armature_requests_running").help("Requests running in the engine")
                .callback(cb -> cb.call(engine.stats().runningRequests())).register(r);
        GaugeWithCallback.builder().name("armature_grpc_requests_in_flight").help("Requests streaming over the request plane")
                .callback(cb -> cb.call(grpc.inFlight())).register(r);
        GaugeWithCallback.builder().name("armature_kv_blocks_total").help("KV cache blocks in the pool")
                .callback(cb -> cb.call(engine.stats().kvBlocksTotal())).register(r);
        GaugeWithCallback.builder().name("armature_kv_blocks_used").help("KV cache blocks held by running sequences")
                .callback(cb -> cb.call(engine.stats().kvBlocksUsed())).register(r);
        GaugeWithCallback.builder().name("armature_kv_blocks_cached").help("Free KV cache blocks kept for prefix reuse")
                .callback(cb -> cb.call(engine.stats().kvBlocksCached())).register(r);
        GaugeWithCallback.builder().name("armature_worker_draining").help("1 while the worker drains")
                .callback(cb -> cb.call(drain.draining ? 1 : 0)).register(r);
        CounterWithCallback.builder().name("armature_generation_tokens_total").help("Tokens generated by this worker")
                .callback(cb -> cb.call(engine.counters().generatedTokens())).register(r);
        CounterWithCallback.builder().name("armature_engine_steps_total").help("Scheduler steps run")
                .callback(cb -> cb.call(engine.counters().steps())).register(r);
        CounterWithCallback.builder().name("armature_prefix_cache_queries_tokens_total").help("Prompt tokens looked up in the prefix cache")
                .callback(cb -> cb.call(engine.stats().prefixCacheQueryTokens())).register(r);
        CounterWithCallback.builder().name("armature_prefix_cache_hits_tokens_total").help("Prompt tokens found in the prefix cache")
                .callback(cb -> cb.call(engine.stats().prefixCacheHitTokens())).register(r);
        return r;
    }
}
