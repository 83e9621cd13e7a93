package ai.armature.cli;

import ai.armature.planner.Autoscaler;
import ai.armature.planner.Decision;
import ai.armature.planner.DecisionLog;
import ai.armature.planner.PlannerConfig;
import ai.armature.planner.Pool;
import ai.armature.planner.QueueThresholdPolicy;
import ai.armature.planner.ScalingPolicy;
import ai.armature.planner.SlaPlanner;
import ai.armature.planner.connector.Connector;
import ai.armature.planner.connector.KubernetesConnector;
import ai.armature.planner.connector.LocalConnector;
import ai.armature.planner.model.LatencyModel;
import ai.armature.planner.model.PerformanceModel;
import ai.armature.planner.profile.PerformanceProfile;
import ai.armature.planner.profile.ProfileJson;
import ai.armature.planner.profile.Profiler;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.runtime.discovery.DiscoveryListener;
import ai.armature.runtime.discovery.EtcdDiscovery;
import ai.armature.runtime.events.NatsEventPlane;
import ai.armature.runtime.events.WorkerEventsListener;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * {@code armature planner}: sizes one served model's worker pools against TTFT and ITL targets. It watches the
 * model's workers in discovery, reads their load and traffic counts (and frontends' held requests) from the event
 * plane, decides every {@code --interval} with the {@link SlaPlanner} (or the queue-threshold baseline) and starts
 * or drains workers through a connector: {@code local} processes or a {@code kubernetes} Deployment per pool.
 */
@Command(name = "planner", mixinStandardHelpOptions = true,
        description = {"Scales a model's worker pools to meet TTFT and ITL targets with the fewest workers.",
                "Watches the model's workers (--discovery), their load and traffic (--events), decides every --interval and",
                "starts or drains workers: --connector local runs 'armature worker' processes with the options after '--';",
                "--connector kubernetes scales a Deployment per pool (--deployment). Scaling down always drains."})
final class PlannerCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(PlannerCommand.class.getName());

    @Option(names = "--served-model-name", required = true, description = "The model whose workers the planner sizes (as its workers' cards name it).")
    String model;

    @Option(names = "--connector", required = true, description = "How workers start and stop: local (processes here) or kubernetes (Deployments).")
    String connectorName;

    @Option(names = "--planner", defaultValue = "sla", description = "sla (profile, forecast, targets) or queue (the threshold baseline). Default: ${DEFAULT-VALUE}.")
    String policyName;

    @Option(names = "--pools", split = ",", defaultValue = "aggregated",
            description = "The pools to size: aggregated, or prefill,decode (workers of those roles). Default: ${DEFAULT-VALUE}.")
    List<String> poolNames;

    @Option(names = "--profile", description = {"The workers' profile (see 'armature profile'): a profile.json, or mock:SPEC to profile the simulated",
            "runner with SPEC at start. Default with --connector local and --mock-profile workers: their profile and options."})
    String profile;

    @Mixin
    PlanningOptions planning;

    @Option(names = "--start-timeout", converter = DurationConverter.class,
            description = "A started worker not serving after this long is cancelled. Default: 5 x --worker-startup-seconds, at least 120s.")
    Duration startTimeout;

    @Option(names = "--timeline", description = {"Write every decision as a JSON line here; when the planner stops, also a PNG chart of them",
            "(request rate, workers, mean TTFT and ITL per interval) beside it: FILE with .png for .jsonl."})
    Path timeline;

    @Option(names = "--worker-log-dir", defaultValue = "planner-workers", description = "local: where each worker's output goes. Default: ${DEFAULT-VALUE}.")
    Path workerLogDir;

    @Option(names = "--worker-launcher", description = "local: the command that runs armature (default: this JVM with its options and class path).")
    String workerLauncher;

    @Option(names = "--kube-namespace", defaultValue = "armature", description = "kubernetes: the namespace of the Deployments. Default: ${DEFAULT-VALUE}.")
    String kubeNamespace;

    @Option(names = "--deployment", split = ",", description = "kubernetes: POOL=DEPLOYMENT for each pool, e.g. aggregated=armature-worker.")
    Map<String, String> deployments = new LinkedHashMap<>();

    @Parameters(paramLabel = "WORKER-OPTIONS", description = "local: after '--', the options of every 'armature worker' it starts (e.g. --mock-profile ...).")
    List<String> workerArgs = new ArrayList<>();

    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        cluster.check();
        List<Pool> pools = poolNames.stream().map(Pool::ofRole).distinct().toList();
        if (pools.contains(Pool.AGGREGATED) && pools.size() > 1) {
            throw new IllegalArgumentException("--pools is aggregated, or prefill and decode, not both");
        }
        PlannerConfig config = planning.config();
        Duration interval = planning.interval;
        double timeout = startTimeout != null ? startTimeout.toMillis() / 1000.0 : Math.max(120, 5 * config.workerStartupSeconds());
        ScalingPolicy policy = switch (policyName) {
            case "sla" -> new SlaPlanner(config, new LatencyModel(new PerformanceModel(profile())));
            case "queue" -> new QueueThresholdPolicy(config.minWorkers(), config.maxWorkers());
            default -> throw new IllegalArgumentException("--planner must be sla or queue, got '" + policyName + "'");
        };
        try (Connector connector = connector(pools);
             NatsEventPlane events = cluster.events("planner " + model);
             EtcdDiscovery discovery = cluster.discovery(Duration.ofSeconds(10));
             DecisionLog log = timeline == null ? null : new DecisionLog(timeline)) {
            ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("armature-planner").unstarted(r));
            long origin = System.nanoTime();
            Autoscaler autoscaler = new Autoscaler(policy, connector, config, pools, timeout);
            Signals signals = new Signals(pools);
            AutoCloseable subscription = events.subscribe(model, signals);
            AutoCloseable watch = discovery.watch(new DiscoveryListener() {
                @Override
                public void workerUp(ModelCard card) {
                    if (!card.servedModelName().equals(model)) return;
                    Pool pool;
                    try {
                        pool = Pool.ofRole(card.role());
                    } catch (IllegalArgumentException e) {
                        return;
                    }
                    if (!pools.contains(pool)) return;
                    loop.execute(() -> autoscaler.registered(card.workerId(), pool, seconds(origin)));
                }

                @Override
                public void workerDown(String workerId) {
                    loop.execute(() -> autoscaler.deregistered(workerId));
                }
            });
            signals.onHeld = () -> loop.execute(() -> {
                Pool front = signals.frontPool();
                if (signals.held(front) > 0) autoscaler.demand(front, seconds(origin));
            });
            // With no worker at all after the first interval, start one: frontends learn a model (its tokenizer) from its
            // workers, so a model must have served once before its requests can wait for it at zero.
            loop.schedule(() -> {
                Pool front = signals.frontPool();
                if (autoscaler.fleet(front).capacity() == 0 && autoscaler.demand(front, seconds(origin)) > 0) {
                    LOG.info("planner: no worker of '" + model + "' yet: started one so frontends learn the model");
                }
            }, interval.toMillis(), TimeUnit.MILLISECONDS);
            loop.scheduleAtFixedRate(() -> {
                try {
                    for (Decision d : autoscaler.tick(seconds(origin), signals)) {
                        if (log != null) log.write(d, autoscaler.fleet(d.pool()), config);
                    }
                } catch (Exception e) {
                    LOG.warning("planner: a decision failed: " + e);
                }
            }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
            // Between decisions, the policy's surge check (the same as in simulate): scale up at once on a burst.
            long check = Math.round(Autoscaler.SURGE_CHECK_SECONDS * 1000);
            loop.scheduleAtFixedRate(() -> {
                try {
                    for (Decision d : autoscaler.check(seconds(origin), signals)) {
                        if (log != null) log.write(d, autoscaler.fleet(d.pool()), config);
                    }
                } catch (Exception e) {
                    LOG.warning("planner: a surge check failed: " + e);
                }
            }, check, check, TimeUnit.MILLISECONDS);
            CountDownLatch stop = StopSignals.install();
            System.err.printf("armature: planner for '%s' (%s, pools %s, connector %s): TTFT %.3f s, ITL %.3f s at %.0f%%, %d..%d workers, "
                            + "interval %s, startup %.0f s%n", model, policy.name(), poolNames, connector.name(), config.slo().ttftSeconds(),
                    config.slo().itlSeconds(), config.slo().attainment() * 100, config.minWorkers(), config.maxWorkers(), interval,
                    config.workerStartupSeconds());
            System.out.printf("ready planner model=%s connector=%s%n", model, connector.name());
            System.out.flush();
            stop.await();
            System.err.println("armature: planner stopping" + (connector instanceof LocalConnector ? ": draining the workers it started" : ""));
            loop.shutdownNow();
            loop.awaitTermination(10, TimeUnit.SECONDS);
            watch.close();
            subscription.close();
        }
        if (timeline != null && Files.exists(timeline) && Files.size(timeline) > 0) {
            Path png = PlannerTimelineChart.pngFor(timeline);
            int n = PlannerTimelineChart.write(timeline, png, "Planner timeline (" + model + ", " + policy.name() + ", connector " + connectorName + ")");
            System.err.println("armature: planner timeline of " + n + " decisions drawn in " + png);
        }
        return 0;
    }

    private static double seconds(long origin) {
        return (System.nanoTime() - origin) / 1e9;
    }

    /** The profile the SLA planner sizes with: a file, mock:SPEC, or the local mock workers' own. */
    private PerformanceProfile profile() {
        if (profile != null && !profile.startsWith("mock:")) return ProfileJson.read(Path.of(profile));
        WorkerCommand worker = parsedWorkerArgs();
        String spec = profile != null ? profile.substring("mock:".length()) : worker == null ? null : worker.mockProfile;
        if (spec == null) {
            throw new IllegalArgumentException("--planner sla needs the workers' profile: 'armature profile --model F --out profile.json' "
                    + "with the workers' options, then --profile profile.json (or --profile mock:SPEC for simulated workers)");
        }
        ServingConfig config = worker != null ? worker.workerOptions.config(1, worker.maxQueued) : ServingConfig.defaults();
        Profiler p = Profiler.mock(MockProfile.parse(spec), config);
        try {
            PerformanceProfile result = p.run(p.defaultSweep(), line -> { });
            System.err.printf("armature: profiled %s on its virtual clock (%d KV tokens, --max-batched-tokens %d, --max-seqs %d)%n",
                    result.source(), result.limits().kvCacheTokens(), config.maxBatchedTokens(), config.maxSeqs());
            return result;
        } finally {
            p.close();
        }
    }

    /** The local workers' options as 'armature worker' reads them, or null without any. */
    private WorkerCommand parsedWorkerArgs() {
        if (workerArgs.isEmpty()) return null;
        WorkerCommand w = new WorkerCommand();
        List<String> args = new ArrayList<>(clusterArgs());
        args.addAll(workerArgs);
        try {
            new CommandLine(w).parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException("the worker options after '--' are not valid 'armature worker' options: " + e.getMessage());
        }
        return w;
    }

    private List<String> clusterArgs() {
        List<String> a = new ArrayList<>(List.of("--discovery", cluster.discovery, "--events", cluster.events, "--namespace", cluster.namespace));
        if (cluster.tlsCert != null) a.addAll(List.of("--tls-cert", cluster.tlsCert.toString()));
        if (cluster.tlsKey != null) a.addAll(List.of("--tls-key", cluster.tlsKey.toString()));
        if (cluster.tlsCa != null) a.addAll(List.of("--tls-ca", cluster.tlsCa.toString()));
        return a;
    }

    private Connector connector(List<Pool> pools) throws Exception {
        switch (connectorName) {
            case "local" -> {
                if (!deployments.isEmpty()) throw new IllegalArgumentException("--deployment is for --connector kubernetes");
                parsedWorkerArgs();
                for (String w : workerArgs) {
                    if (w.equals("--worker-id") || w.startsWith("--worker-id=") || w.equals("--discovery") || w.equals("--events")) {
                        throw new IllegalArgumentException("the planner passes " + w + " to its workers itself: remove it after '--'");
                    }
                }
                for (String w : workerArgs) {
                    if (w.equals("--role") || w.startsWith("--role=")) {
                        throw new IllegalArgumentException("the planner gives each pool's workers their --role itself (--pools): remove it after '--'");
                    }
                }
                Map<Pool, List<String>> args = new EnumMap<>(Pool.class);
                for (Pool p : pools) args.put(p, workerArgs);
                return new LocalConnector(launcher(), clusterArgs(), args, workerLogDir, Duration.ofMinutes(2));
            }
            case "kubernetes" -> {
                if (!workerArgs.isEmpty()) throw new IllegalArgumentException("worker options after '--' are for --connector local (set them in the Deployment)");
                Map<Pool, String> byPool = new EnumMap<>(Pool.class);
                deployments.forEach((k, v) -> byPool.put(Pool.ofRole(k), v));
                for (Pool p : pools) {
                    if (!byPool.containsKey(p)) throw new IllegalArgumentException("--deployment needs " + p.roleName() + "=DEPLOYMENT");
                }
                KubernetesClient client = new KubernetesClientBuilder().build();
                try {
                    return KubernetesConnector.owning(client, kubeNamespace, byPool);
                } catch (RuntimeException e) {
                    client.close();
                    throw e;
                }
            }
            default -> throw new IllegalArgumentException("--connector must be local or kubernetes, got '" + connectorName + "'");
        }
    }

    /** This JVM (same options and class path) running the armature CLI, unless --worker-launcher says otherwise. */
    private List<String> launcher() {
        if (workerLauncher != null) return List.of(workerLauncher.trim().split("\\s+"));
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ArmatureCli.class.getName());
        return cmd;
    }

    /** The latest reports from the event plane, read by the planner loop at each tick. */
    private static final class Signals implements WorkerEventsListener, Autoscaler.Signals {
        private final List<Pool> pools;
        private final Map<String, TrafficCounters> traffic = new ConcurrentHashMap<>();
        private final Map<String, EngineStats> loads = new ConcurrentHashMap<>();
        private final Map<String, long[]> held = new ConcurrentHashMap<>(); // source -> {count, nanoTime}
        volatile Runnable onHeld = () -> { };

        Signals(List<Pool> pools) {
            this.pools = pools;
        }

        /** The pool a request meets first: the one held requests wait for. */
        Pool frontPool() {
            return pools.contains(Pool.AGGREGATED) ? Pool.AGGREGATED : Pool.PREFILL;
        }

        @Override
        public void kvEvents(String workerId, List<KvEvent> events) {
        }

        @Override
        public void load(String workerId, EngineStats load) {
            loads.put(workerId, load);
        }

        @Override
        public void traffic(String workerId, TrafficCounters t) {
            traffic.put(workerId, t);
        }

        @Override
        public void held(String sourceId, int heldRequests) {
            long[] before = held.put(sourceId, new long[] {heldRequests, System.nanoTime()});
            if (heldRequests > 0 && (before == null || before[0] == 0)) onHeld.run();
        }

        @Override
        public Map<String, TrafficCounters> traffic() {
            return Map.copyOf(traffic);
        }

        @Override
        public Map<String, EngineStats> loads() {
            return Map.copyOf(loads);
        }

        /**
         * Requests waiting at the frontends that reported within the last 5 s: held for want of a worker, or at their
         * routers while every worker is busy (they report every second while some wait, and 0 once when none does).
         */
        @Override
        public int held(Pool pool) {
            if (pool != frontPool()) return 0;
            long now = System.nanoTime();
            int n = 0;
            for (long[] h : held.values()) if (now - h[1] < TimeUnit.SECONDS.toNanos(5)) n += (int) h[0];
            return n;
        }
    }
}
