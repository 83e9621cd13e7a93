package ai.armature.router;

import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The Prometheus metrics of a process's routers, one per served model (label {@code model}; prefix
 * {@code armature_router_}, times in seconds): decisions by policy, prompt tokens routed and predicted cached
 * (predicted prefix hit) against what the workers reported cached for the same requests, a decision latency
 * histogram, the workers and entries of the KV index, KV events applied and ignored as duplicates, event gaps and
 * snapshots applied, and the requests waiting at the router (now, in all, timed out). The set of routers is read at every scrape, so a frontend whose models come and go with their
 * workers registers once; counters are read from each router then, only the latency histogram is recorded per
 * decision (from {@link #timeDecisions} on).
 */
public final class RouterMetrics {

    private static final double[] DECISION_BUCKETS = {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3, 1e-2, 0.1};

    private final Supplier<? extends Map<String, Router>> routers;
    private final Histogram decisionSeconds;

    /** The metrics of the routers {@code routers} returns at each scrape, keyed by served model name. */
    public RouterMetrics(Supplier<? extends Map<String, Router>> routers) {
        this.routers = routers;
        this.decisionSeconds = Histogram.builder().name("armature_router_decision_seconds")
                .help("Time the router took to pick a worker (hashing, index lookup, cost, bookkeeping)")
                .labelNames("model").classicOnly().classicUpperBounds(DECISION_BUCKETS).build();
    }

    /** The metrics of one router serving {@code model}, its decisions timed from now on. */
    public static RouterMetrics of(String model, Router router) {
        RouterMetrics m = new RouterMetrics(() -> Map.of(model, router));
        m.timeDecisions(model, router);
        return m;
    }

    /** Records {@code router}'s decision latency under {@code model} from now on. */
    public void timeDecisions(String model, Router router) {
        var point = decisionSeconds.labelValues(model);
        router.timeDecisions(nanos -> point.observe(nanos / 1e9));
    }

    /** Registers every metric in {@code registry}. */
    public void register(PrometheusRegistry registry) {
        registry.register(decisionSeconds);
        registry.register(CounterWithCallback.builder().name("armature_router_decisions_total")
                .help("Routing decisions by policy").labelNames("model", "policy")
                .callback(cb -> routers.get().forEach((model, r) -> cb.call(r.routerStats().decisions(), model, r.policyName()))).build());
        counter(registry, "armature_router_prompt_tokens_total", "Prompt tokens of routed requests", RouterStats::routedPromptTokens);
        counter(registry, "armature_router_predicted_hit_tokens_total",
                "Prompt tokens the router predicted cached on the worker it chose", RouterStats::predictedHitTokens);
        counter(registry, "armature_router_reported_prompt_tokens_total",
                "Prompt tokens of routed requests that ran, as the workers reported them", RouterStats::reportedPromptTokens);
        counter(registry, "armature_router_reported_hit_tokens_total",
                "Prompt tokens the workers reported served from their prefix cache, for routed requests", RouterStats::reportedHitTokens);
        gauge(registry, "armature_router_predicted_prefix_hit_rate", "Predicted cached tokens over routed prompt tokens",
                RouterStats::predictedHitRate);
        gauge(registry, "armature_router_reported_prefix_hit_rate", "Workers' reported cached tokens over prompt tokens, routed requests",
                RouterStats::reportedHitRate);
        gauge(registry, "armature_router_workers", "Workers registered with the router", RouterStats::workers);
        gauge(registry, "armature_router_indexer_blocks", "(block, worker) entries in the KV index", RouterStats::indexedEntries);
        gauge(registry, "armature_router_indexer_unique_blocks", "Distinct blocks in the KV index", RouterStats::indexedUniqueBlocks);
        gauge(registry, "armature_router_requests_tracked", "Requests in flight in the load bookkeeping (all replicas)",
                RouterStats::trackedRequests);
        counter(registry, "armature_router_kv_events_applied_total", "KV events applied to the index", RouterStats::kvEventsApplied);
        counter(registry, "armature_router_kv_events_duplicate_total", "KV events ignored because their id was already applied",
                RouterStats::kvEventsDuplicate);
        counter(registry, "armature_router_kv_event_gaps_total", "Gaps detected in workers' KV event ids", RouterStats::kvEventGaps);
        counter(registry, "armature_router_kv_snapshots_total", "Worker snapshots applied after gaps", RouterStats::kvSnapshots);
        gauge(registry, "armature_router_waiting_requests", "Requests waiting at the router because every worker is busy",
                RouterStats::waitingRequests);
        counter(registry, "armature_router_waited_total", "Requests that waited at the router for a worker that was not busy",
                RouterStats::waitedTotal);
        counter(registry, "armature_router_wait_timeouts_total", "Waiting requests that timed out (--router-wait-timeout)",
                RouterStats::waitTimeouts);
        counter(registry, "armature_router_released_newest_first_total",
                "Waiting requests sent to a worker ahead of older ones because the oldest had waited --router-lifo-after",
                RouterStats::releasedNewestFirst);
    }

    private void counter(PrometheusRegistry registry, String name, String help, ToDoubleFunction<RouterStats> f) {
        registry.register(CounterWithCallback.builder().name(name).help(help).labelNames("model")
                .callback(cb -> routers.get().forEach((model, r) -> cb.call(f.applyAsDouble(r.routerStats()), model))).build());
    }

    private void gauge(PrometheusRegistry registry, String name, String help, ToDoubleFunction<RouterStats> f) {
        registry.register(GaugeWithCallback.builder().name(name).help(help).labelNames("model")
                .callback(cb -> routers.get().forEach((model, r) -> cb.call(f.applyAsDouble(r.routerStats()), model))).build());
    }
}
