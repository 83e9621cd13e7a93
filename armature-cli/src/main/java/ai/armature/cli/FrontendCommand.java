package ai.armature.cli;

import ai.armature.frontend.ApiOptions;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.router.RouterConfig;
import ai.armature.runtime.discovery.EtcdDiscovery;
import ai.armature.runtime.events.NatsEventPlane;
import ai.armature.runtime.request.RemoteWorker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code armature frontend}: the OpenAI-compatible server with no model of its own. It discovers workers in etcd,
 * loads each served model's tokenizer and chat template from its workers' cards (never weights), routes each
 * request to a worker of its model through the router (fed by the workers' KV events and load on NATS) and migrates
 * requests whose worker is lost. Several frontends may run against one etcd and NATS.
 */
@Command(name = "frontend", mixinStandardHelpOptions = true,
        description = {"Serves every model registered in etcd over an OpenAI-compatible HTTP API (see 'armature worker').",
                "Endpoints: /v1/chat/completions, /v1/completions, /v1/responses, /v1/messages (Anthropic), /v1/embeddings,",
                "/v1/models, /tokenize, /detokenize, /health, /live, /metrics.",
                "A request whose worker dies, hangs or drains continues on another worker of its model (--migration-limit);",
                "past the limit, or with no worker left, it gets 503 (an SSE error event once streaming has begun).",
                "A worker that hangs or does not accept in time is left out until it answers a probe again.",
                "Started while NATS cannot be reached it exits at once ('cannot connect to NATS at ...'); etcd may come later.",
                "A model with prefill and decode workers (armature worker --role) is served disaggregated: long prompts are",
                "prefilled on a prefill worker and their KV fetched by the decode worker (--max-local-prefill-tokens)."})
final class FrontendCommand implements Callable<Integer> {





    @Option(names = "--migration-limit", defaultValue = "3",
            description = "How many times a request may move to another worker after its worker is lost (0: never). Default: ${DEFAULT-VALUE}.")
    int migrationLimit;

    @Option(names = "--request-inactivity-timeout", defaultValue = "10s", converter = DurationConverter.class,
            description = {"A running request whose worker sends nothing (not even its 1 s heartbeat) for this long is taken",
                    "as lost (a hung worker) and migrated. Default: ${DEFAULT-VALUE}."})
    Duration inactivityTimeout;

    @Option(names = "--worker-timeout", defaultValue = "5s", converter = DurationConverter.class,
            description = "How long a worker may take to accept a request or answer a call. Default: ${DEFAULT-VALUE}.")
    Duration workerTimeout;




    @Option(names = "--hold-timeout", defaultValue = "0s", converter = DurationConverter.class,
            description = {"A request for a model with no worker (a planner scaled it to zero) waits this long for one to start",
                    "(the planner starts one when it sees the request waiting), then fails with 503. Default: 0s, no wait (503 at once)."})
    Duration holdTimeout;

    @Mixin
    HttpOptions httpOptions;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    RouterOptions routerOptions;

    @Mixin
    ApiFlags apiFlags;

    @Mixin
    RemotePrefillOptions remotePrefill;

    @Override
    public Integer call() throws Exception {
        httpOptions.check();
        if (migrationLimit < 0) throw new IllegalArgumentException("--migration-limit must be >= 0, got " + migrationLimit);
        if (holdTimeout.isNegative()) throw new IllegalArgumentException("--hold-timeout must be >= 0");
        if (inactivityTimeout.toMillis() < 100 || workerTimeout.toMillis() < 100) {
            throw new IllegalArgumentException("--request-inactivity-timeout and --worker-timeout must be at least 100ms");
        }
        cluster.check();
        RouterConfig routerConfig = routerOptions.config();
        ApiOptions apis = apiFlags.options();
        FrontendConfig config = httpOptions.config("armature", apis);
        DisaggregationMetrics disaggregation = new DisaggregationMetrics();
        try (NatsEventPlane events = cluster.events("frontend");
             ClusterModels models = new ClusterModels(events, routerConfig,
                     new RemoteWorker.Options(workerTimeout, inactivityTimeout, cluster.tls()), migrationLimit, workerTimeout.multipliedBy(2),
                     holdTimeout, remotePrefill.rule(), disaggregation);
             EtcdDiscovery discovery = cluster.discovery(Duration.ofSeconds(10))) {
            AutoCloseable watch = discovery.watch(models);
            OpenAiServer server = new OpenAiServer(config, models);
            models.routerMetrics().register(server.metricsRegistry());
            disaggregation.register(server.metricsRegistry(), true, false);
            httpOptions.serveUntilStopped(server, url -> {
                System.err.printf("armature: frontend discovering workers at %s (namespace %s), events at %s, router %s, migration limit %d%n",
                        cluster.discovery, cluster.namespace, cluster.events, routerConfig.policy(), migrationLimit);
                System.out.println("ready frontend=" + url);
                System.out.flush();
            });
            watch.close();
        }
        return 0;
    }
}
