package ai.armature.router;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * A router's Prometheus metrics (prefix {@code armature_router_}, times in seconds): decisions by policy, prompt
 * tokens routed and predicted cached (predicted prefix hit) against what the workers reported cached for the same
 * requests, a decision latency histogram, the workers and entries of the KV index, KV events applied and ignored as
 * duplicates, event gaps and snapshots applied. Counters are read from the router at scrape time; only the latency
 * histogram is recorded per decision.
 */
public final class RouterMetrics {

    private static final double[] DECISION_BUCKETS = {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3, 1e-2, 0.1};

    private final Router router;
    private final Histogram decisionSeconds;

    RouterMetrics(Router router) {
        this.router = router;
        this.decisionSeconds = Histogram.builder().name("armature_router_decision_seconds")
                .help("Time the router took to pick a worker (hashing, index lookup, cost, bookkeeping)")
                .classicOnly().classicUpperBounds(DECISION_BUCKETS).build();
    }

    void decision(long nanos) {
        decisionSeconds.observe(nanos / 1e9);
    }

    /** Registers every metric in {@code registry}. */
    public void register(PrometheusRegistry registry) {
        registry.register(decisionSeconds);
        String policy = router.policyName();
        registry.register(CounterWithCallback.builder().name("armature_router_decisions_total")
                .help("Routing decisions by policy").labelNames("policy")
                .callback(cb -> cb.call(router.routerStats().decisions(), policy)).build());
        counter(registry, "armature_router_prompt_tokens_total", "Prompt tokens of routed requests", s -> s.routedPromptTokens());
        counter(registry, "armature_router_predicted_hit_tokens_total",
                "Prompt tokens the router predicted cached on the worker it chose", s -> s.predictedHitTokens());
        counter(registry, "armature_router_reported_prompt_tokens_total",
                "Prompt tokens of routed requests that ran, as the workers reported them", s -> s.reportedPromptTokens());
        counter(registry, "armature_router_reported_hit_tokens_total",
                "Prompt tokens the workers reported served from their prefix cache, for routed requests", s -> s.reportedHitTokens());
        gauge(registry, "armature_router_predicted_prefix_hit_rate", "Predicted cached tokens over routed prompt tokens",
                RouterStats::predictedHitRate);
        gauge(registry, "armature_router_reported_prefix_hit_rate", "Workers' reported cached tokens over prompt tokens, routed requests",
                RouterStats::reportedHitRate);
        gauge(registry, "armature_router_workers", "Workers registered with the router", s -> s.workers());
        gauge(registry, "armature_router_indexer_blocks", "(block, worker) entries in the KV index", s -> s.indexedEntries());
        gauge(registry, "armature_router_indexer_unique_blocks", "Distinct blocks in the KV index", s -> s.indexedUniqueBlocks());
        gauge(registry, "armature_router_requests_tracked", "Requests in flight in the load bookkeeping (all replicas)", s -> s.trackedRequests());
        counter(registry, "armature_router_kv_events_applied_total", "KV events applied to the index", s -> s.kvEventsApplied());
        counter(registry, "armature_router_kv_events_duplicate_total", "KV events ignored because their id was already applied",
                s -> s.kvEventsDuplicate());
        counter(registry, "armature_router_kv_event_gaps_total", "Gaps detected in workers' KV event ids", s -> s.kvEventGaps());
        counter(registry, "armature_router_kv_snapshots_total", "Worker snapshots applied after gaps", s -> s.kvSnapshots());
    }

    private void counter(PrometheusRegistry registry, String name, String help, java.util.function.ToDoubleFunction<RouterStats> f) {
        registry.register(CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(f.applyAsDouble(router.routerStats()))).build());
    }

    private void gauge(PrometheusRegistry registry, String name, String help, java.util.function.ToDoubleFunction<RouterStats> f) {
        registry.register(GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(f.applyAsDouble(router.routerStats()))).build());
    }
}
