package ai.armature.cli;

import ai.armature.protocol.ModelCard;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.runtime.discovery.Discovery;
import ai.armature.runtime.discovery.EtcdDiscovery;
import ai.armature.runtime.events.NatsEventPlane;
import ai.armature.runtime.events.WorkerEventPublisher;
import ai.armature.runtime.metrics.MetricsEndpoint;
import ai.armature.runtime.request.GrpcWorkerServer;
import ai.armature.serving.worker.ModelTokenizer;
import ai.armature.serving.worker.TokenizerBundle;
import ai.armature.upstream.UpstreamConfig;
import ai.armature.upstream.UpstreamEngine;
import ai.armature.upstream.UpstreamInfo;
import ai.armature.upstream.kv.KvEventTranslator;
import ai.armature.upstream.kv.ZmqKvEventSubscriber;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code armature worker --upstream URL}: an external engine (vLLM, SGLang, llama-server, any OpenAI server) as one
 * worker of a distributed deployment. The worker process serves the runtime's gRPC request plane over an
 * {@link UpstreamEngine}, publishes the engine's KV events (read from its ZMQ publisher with {@code --kv-events}, in
 * Armature's hashes) and its load on NATS, and keeps its model card registered in etcd while the upstream is
 * healthy: it deregisters when the upstream stops answering (its requests in flight fail over to other workers by
 * migration) and registers again when it is back. SIGTERM drains as {@code armature worker} does.
 */
final class UpstreamWorker {

    private static final Duration UPSTREAM_WAIT = Duration.ofMinutes(10);

    private UpstreamWorker() {
    }

    static int run(WorkerCommand w) throws Exception {
        UpstreamOptions opts = w.upstreamOptions;
        if (opts.upstreams.size() != 1) {
            throw new IllegalArgumentException("armature worker fronts one upstream: give one --upstream (run one worker per engine)");
        }
        Path tokPath = opts.tokenizerSource();
        ModelTokenizer tok = ModelTokenizer.open(tokPath);
        String name = w.servedModelName != null ? w.servedModelName : ServeCommand.defaultName(tokPath);
        String workerId = name.replaceAll("[^A-Za-z0-9_-]", "_") + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        UpstreamConfig config = opts.configs(name, tok, i -> workerId).getFirst();
        String kvEndpoint = opts.kvEventsOf(0);
        TokenizerBundle bundle = TokenizerBundle.of(tok);
        try (NatsEventPlane events = w.cluster.events("worker " + workerId);
             WorkerEventPublisher publisher = events.publisher(name, workerId);
             UpstreamEngine engine = new UpstreamEngine(config);
             EtcdDiscovery discovery = w.cluster.discovery(w.leaseTtl)) {
            KvEventTranslator translator = kvEndpoint == null ? null : new KvEventTranslator(workerId, new BlockHasher(name), config.blockSize());
            ZmqKvEventSubscriber subscriber = kvEndpoint == null ? null
                    : new ZmqKvEventSubscriber(kvEndpoint, UpstreamWorkers.decoder(config.kind()), translator, evs -> evs.forEach(publisher::publish));
            if (subscriber != null) subscriber.start();
            Supplier<CompletableFuture<KvCacheSnapshot>> snapshots = translator == null
                    ? () -> CompletableFuture.failedFuture(new IllegalStateException("upstream worker " + workerId + " publishes no KV events"))
                    : () -> CompletableFuture.completedFuture(translator.snapshot());
            GrpcWorkerServer grpc = new GrpcWorkerServer(workerId, engine, snapshots, bundle.bytes(), bundle.sha256(),
                    new GrpcWorkerServer.Config(w.host, w.grpcPort, w.cluster.tls(), Duration.ofSeconds(1)));
            int boundGrpc;
            try {
                boundGrpc = grpc.start();
            } catch (java.io.IOException e) {
                throw new CliErrors.UserError("cannot listen for gRPC on " + w.host + ":" + w.grpcPort + ": " + e.getMessage());
            }
            Registration registration = new Registration(discovery);
            try (MetricsEndpoint metrics = new MetricsEndpoint(w.host, w.metricsPort, registry(engine, grpc, translator),
                    () -> !registration.draining && engine.healthy());
                 ZmqKvEventSubscriber ignored = subscriber) {
                String metricsUrl = "http://" + w.host + ":" + metrics.port() + "/metrics";
                engine.start(new UpstreamEngine.Listener() {
                    @Override
                    public void healthy(UpstreamEngine e) {
                        UpstreamInfo info = e.info();
                        registration.register(new ModelCard(workerId, name, name, info.contextLength(), config.blockSize(),
                                ModelCard.ROLE_AGGREGATED, w.host + ":" + boundGrpc, w.cluster.tls() != null, metricsUrl, bundle.sha256(),
                                bundle.bytes().length, translator != null));
                    }

                    @Override
                    public void unhealthy(UpstreamEngine e, String reason) {
                        registration.deregister();
                        System.err.println("armature: worker " + workerId + " deregistered: upstream unhealthy (" + reason + ")");
                    }
                });
                ScheduledExecutorService loads = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon(true)
                        .name("armature-load").unstarted(r));
                loads.scheduleAtFixedRate(() -> publisher.publishLoad(engine.stats()), 0, w.loadInterval.toMillis(), TimeUnit.MILLISECONDS);
                CountDownLatch stop = StopSignals.install();
                if (!engine.awaitHealthy(UPSTREAM_WAIT)) {
                    throw new CliErrors.UserError("upstream " + config.baseUrl() + " did not answer within " + UPSTREAM_WAIT.toMinutes()
                            + " minutes: " + engine.lastProblem());
                }
                // Ready once registered, as an engine worker is (etcd may be unreachable at start: it waits).
                if (awaitRegistration(registration, stop)) {
                    System.err.printf("armature: worker %s serving '%s' through %s upstream %s; KV %s, blocks of %d tokens; context %d%n", workerId,
                            name, config.kind().cliName(), config.baseUrl(), kvEndpoint == null ? "approximate (no --kv-events)" : "events from " + kvEndpoint,
                            config.blockSize(), engine.maxContextTokens());
                    System.out.printf("ready worker=%s grpc=%s:%d metrics=%s model=%s%n", workerId, w.host, boundGrpc, metricsUrl, name);
                    System.out.flush();
                    stop.await();
                }

                registration.draining = true;
                WorkerCommand.drain(workerId, grpc, registration::deregister, w.drainTimeout);
                loads.shutdownNow();
                grpc.close();
                System.err.println("armature: worker " + workerId + " stopped");
            }
        }
        return 0;
    }

    /** The worker's discovery registration, held while the upstream is healthy. */
    private static final class Registration {
        private final Discovery discovery;
        private Discovery.Registration current;
        volatile boolean draining;

        Registration(Discovery discovery) {
            this.discovery = discovery;
        }

        synchronized void register(ModelCard card) {
            if (draining) return;
            if (current != null) current.close();
            current = discovery.register(card);
        }

        synchronized void deregister() {
            if (current != null) current.close();
            current = null;
        }

        /** Waits up to {@code timeout} for the current registration (if any) to be in etcd. */
        boolean awaitRegistered(Duration timeout) throws InterruptedException {
            Discovery.Registration r;
            synchronized (this) {
                r = current;
            }
            if (r != null) return r.awaitRegistered(timeout);
            Thread.sleep(timeout.toMillis());
            return false;
        }
    }

    /** Waits until the worker is registered (true) or {@code stop} is signalled first (false). */
    private static boolean awaitRegistration(Registration registration, CountDownLatch stop) throws InterruptedException {
        while (stop.getCount() > 0) {
            if (registration.awaitRegistered(Duration.ofMillis(250))) return true;
        }
        return false;
    }

    private static PrometheusRegistry registry(UpstreamEngine engine, GrpcWorkerServer grpc, KvEventTranslator translator) {
        PrometheusRegistry r = new PrometheusRegistry();
        GaugeWithCallback.builder().name("armature_requests_running").help("Requests in flight to the upstream")
                .callback(cb -> cb.call(engine.inFlight())).register(r);
        GaugeWithCallback.builder().name("armature_grpc_requests_in_flight").help("Requests streaming over the request plane")
                .callback(cb -> cb.call(grpc.inFlight())).register(r);
        GaugeWithCallback.builder().name("armature_upstream_healthy").help("1 while the upstream answers its health checks")
                .callback(cb -> cb.call(engine.healthy() ? 1 : 0)).register(r);
        if (translator != null) {
            String[] names = {"batches", "gaps", "restarts", "skipped_blocks", "unchainable_blocks", "stored_blocks"};
            String[] help = {"KV event messages read from the upstream", "Gaps in the upstream's KV event sequence numbers",
                    "Upstream restarts seen in its KV event sequence numbers", "Stored blocks not indexed (LoRA, extra keys, other groups)",
                    "Stored blocks whose parent was unknown (stored during a gap)", "Engine blocks stored"};
            for (int i = 0; i < names.length; i++) {
                int k = i;
                CounterWithCallback.builder().name("armature_upstream_kv_" + names[i] + "_total").help(help[i])
                        .callback(cb -> cb.call(translator.counters()[k])).register(r);
            }
            GaugeWithCallback.builder().name("armature_upstream_kv_uncertain").help("1 while the upstream's cache is partly unknown (after a gap)")
                    .callback(cb -> cb.call(translator.uncertain() ? 1 : 0)).register(r);
        }
        return r;
    }
}
