package ai.armature.frontend;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.kv.KvTierStats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The frontend's Prometheus metrics (prefix {@code armature_}, times in seconds): requests by endpoint and status,
 * time to first token, inter-token latency and end-to-end latency histograms, prompt and completion token counters,
 * and gauges read from the engines' {@link GenerationEngine#stats()} at scrape time (queued and running requests, KV blocks,
 * prefix-cache hit rate, and per KV tier below the device pool, from {@link GenerationEngine#kvTierStats()}: blocks,
 * bytes, hits, blocks and bytes copied down and up, time spent copying, dropped blocks). One registry per server, so
 * several servers in one JVM (tests) do not clash.
 */
final class FrontendMetrics {

    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25,
            0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    private static final double[] ITL_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03,
            0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter requests;
    private final Counter connectionsRefused;
    private final Histogram ttft;
    private final Histogram itl;
    private final Histogram e2e;
    private final Counter promptTokens;
    private final Counter completionTokens;

    FrontendMetrics(java.util.function.Supplier<EngineStats> engine, java.util.function.Supplier<java.util.List<KvTierStats>> tiers) {
        connectionsRefused = Counter.builder().name("armature_http_connections_closed_total")
                .help("Connections the frontend closed at the wire, by reason (garbage, header_timeout, body_timeout)")
                .labelNames("reason").register(registry);
        requests = Counter.builder().name("armature_requests_total")
                .help("HTTP requests by endpoint and status code").labelNames("endpoint", "status").register(registry);
        ttft = Histogram.builder().name("armature_time_to_first_token_seconds")
                .help("Time from request arrival to the first generated token").classicOnly()
                .classicUpperBounds(LATENCY_BUCKETS).register(registry);
        itl = Histogram.builder().name("armature_inter_token_latency_seconds")
                .help("Time between consecutive generated tokens of a request").classicOnly()
                .classicUpperBounds(ITL_BUCKETS).register(registry);
        e2e = Histogram.builder().name("armature_request_duration_seconds")
                .help("End-to-end latency of generation requests, whatever their outcome").classicOnly()
                .classicUpperBounds(LATENCY_BUCKETS).register(registry);
        promptTokens = Counter.builder().name("armature_prompt_tokens_total")
                .help("Prompt tokens of ended requests, failed and cancelled ones included").register(registry);
        completionTokens = Counter.builder().name("armature_generation_tokens_total")
                .help("Generated tokens of ended requests, failed and cancelled ones included").register(registry);
        GaugeWithCallback.builder().name("armature_requests_waiting").help("Requests queued in the engine")
                .callback(cb -> cb.call(engine.get().waitingRequests())).register(registry);
        GaugeWithCallback.builder().name("armature_requests_running").help("Requests running in the engine")
                .callback(cb -> cb.call(engine.get().runningRequests())).register(registry);
        GaugeWithCallback.builder().name("armature_kv_blocks_total").help("KV cache blocks in the pool")
                .callback(cb -> cb.call(engine.get().kvBlocksTotal())).register(registry);
        GaugeWithCallback.builder().name("armature_kv_blocks_used").help("KV cache blocks held by running sequences")
                .callback(cb -> cb.call(engine.get().kvBlocksUsed())).register(registry);
        GaugeWithCallback.builder().name("armature_kv_blocks_cached").help("Free KV cache blocks kept for prefix reuse")
                .callback(cb -> cb.call(engine.get().kvBlocksCached())).register(registry);
        GaugeWithCallback.builder().name("armature_prefix_cache_hit_rate")
                .help("Prompt tokens served from the prefix cache over prompt tokens looked up (0 before any lookup)")
                .callback(cb -> cb.call(hitRate(engine.get()))).register(registry);
        CounterWithCallback.builder().name("armature_prefix_cache_queries_tokens_total")
                .help("Prompt tokens looked up in the prefix cache")
                .callback(cb -> cb.call(engine.get().prefixCacheQueryTokens())).register(registry);
        CounterWithCallback.builder().name("armature_prefix_cache_hits_tokens_total")
                .help("Prompt tokens found in the prefix cache")
                .callback(cb -> cb.call(engine.get().prefixCacheHitTokens())).register(registry);
        registerTierMetrics(tiers, registry);
    }

    /**
     * Per-tier gauges and counters of the KV tiers below the device pool ({@code tier} = host or disk; copies
     * {@code direction} = down into the tier or up out of it to the device), read from
     * {@link GenerationEngine#kvTierStats()} at scrape time. Without lower tiers the families have no samples.
     */
    private static void registerTierMetrics(java.util.function.Supplier<java.util.List<KvTierStats>> tiers, PrometheusRegistry registry) {
        GaugeWithCallback.builder().name("armature_kv_tier_blocks").help("KV blocks held in a lower tier").labelNames("tier")
                .callback(cb -> { for (KvTierStats t : tiers.get()) cb.call(t.blocks(), tierName(t)); }).register(registry);
        GaugeWithCallback.builder().name("armature_kv_tier_capacity_blocks").help("KV blocks a lower tier can hold").labelNames("tier")
                .callback(cb -> { for (KvTierStats t : tiers.get()) cb.call(t.capacityBlocks(), tierName(t)); }).register(registry);
        GaugeWithCallback.builder().name("armature_kv_tier_bytes").help("Bytes the KV blocks of a lower tier take").labelNames("tier")
                .callback(cb -> { for (KvTierStats t : tiers.get()) cb.call(t.bytes(), tierName(t)); }).register(registry);
        CounterWithCallback.builder().name("armature_kv_tier_hit_blocks_total")
                .help("Prefix-cache lookups that found a block in this tier (and not in device memory)").labelNames("tier")
                .callback(cb -> { for (KvTierStats t : tiers.get()) cb.call(t.hitBlocks(), tierName(t)); }).register(registry);
        CounterWithCallback.builder().name("armature_kv_tier_moved_blocks_total")
                .help("KV blocks copied into a tier from above (down) or out of it to device memory (up)").labelNames("tier", "direction")
                .callback(cb -> {
                    for (KvTierStats t : tiers.get()) {
                        cb.call(t.downBlocks(), tierName(t), "down");
                        cb.call(t.upBlocks(), tierName(t), "up");
                    }
                }).register(registry);
        CounterWithCallback.builder().name("armature_kv_tier_moved_bytes_total")
                .help("Bytes of KV blocks copied into a tier (down) or out of it to device memory (up)").labelNames("tier", "direction")
                .callback(cb -> {
                    for (KvTierStats t : tiers.get()) {
                        cb.call(t.downBytes(), tierName(t), "down");
                        cb.call(t.upBytes(), tierName(t), "up");
                    }
                }).register(registry);
        CounterWithCallback.builder().name("armature_kv_tier_copy_seconds_total")
                .help("Time the KV copies into (down) and out of (up) a tier took").labelNames("tier", "direction")
                .callback(cb -> {
                    for (KvTierStats t : tiers.get()) {
                        cb.call(t.downSeconds(), tierName(t), "down");
                        cb.call(t.upSeconds(), tierName(t), "up");
                    }
                }).register(registry);
        CounterWithCallback.builder().name("armature_kv_tier_dropped_blocks_total")
                .help("KV blocks dropped from a tier: a failed copy, or a corrupt, truncated or foreign block file").labelNames("tier")
                .callback(cb -> { for (KvTierStats t : tiers.get()) cb.call(t.droppedBlocks(), tierName(t)); }).register(registry);
    }

    private static String tierName(KvTierStats t) {
        return t.tier().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static double hitRate(EngineStats s) {
        return s.prefixCacheQueryTokens() == 0 ? 0 : (double) s.prefixCacheHitTokens() / s.prefixCacheQueryTokens();
    }

    /** A connection closed or refused at the wire: garbage, header_timeout, body_timeout. */
    void connectionRefused(String reason) {
        connectionsRefused.labelValues(reason).inc();
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    void firstToken(long nanos) {
        ttft.observe(nanos / 1e9);
    }

    /** One gap between outputs that carried {@code tokens} tokens: each counts as gap/tokens. */
    void interToken(long nanos, int tokens) {
        double each = nanos / 1e9 / tokens;
        for (int i = 0; i < tokens; i++) itl.observe(each);
    }

    void finished(long nanos, int prompt, int completion) {
        e2e.observe(nanos / 1e9);
        promptTokens.inc(prompt);
        completionTokens.inc(completion);
    }

    /** The registry /metrics serves (other components register their metrics in it). */
    PrometheusRegistry registry() {
        return registry;
    }

    String contentType() {
        return writer.getContentType();
    }

    void write(OutputStream out) throws IOException {
        writer.write(out, registry.scrape());
    }
}
