package ai.armature.cli;

import ai.armature.router.disagg.DisaggregatedRouter;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.serving.disagg.KvTransferListener;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The Prometheus metrics of disaggregated serving, fed by the router's placements (where a frontend routes) and by
 * decode workers' KV transfers (where they run; in {@code serve} both, in one registry):
 * <ul>
 *   <li>{@code armature_remote_prefill_requests_total}: requests prefilled on a prefill worker;</li>
 *   <li>{@code armature_local_prefill_requests_total{reason}}: requests with decode workers that prefilled on the
 *       decode worker by choice: {@code short} (uncached prompt within {@code --max-local-prefill-tokens}),
 *       {@code prefill_queue} (the prefill worker's queue at {@code --max-prefill-queue-tokens}), {@code no_prefill_worker},
 *       {@code aggregated_worker}, and {@code no_decode_worker} (no decode worker available: a prefill worker served the
 *       whole request);</li>
 *   <li>{@code armature_local_prefill_fallbacks_total{reason}}: remote prefills that ended up computed on the decode
 *       worker: {@code prefill_failed} (the prefill worker refused, failed or died before its first token) and
 *       {@code transfer_failed} (the KV transfer failed or timed out; the decode worker computed what did not arrive);</li>
 *   <li>{@code armature_kv_transfer_blocks_total}, {@code armature_kv_transfer_bytes_total} and the
 *       {@code armature_kv_transfer_seconds} histogram: KV moved between workers, counted where it arrives.</li>
 * </ul>
 */
final class DisaggregationMetrics implements DisaggregatedRouter.Listener, KvTransferListener {

    private static final double[] SECONDS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Counter remote = Counter.builder().name("armature_remote_prefill_requests_total")
            .help("Requests whose prompt was prefilled on a prefill worker").build();
    private final Counter local = Counter.builder().name("armature_local_prefill_requests_total")
            .help("Requests with decode workers that prefilled on the decode worker by choice").labelNames("reason").build();
    private final Counter fallbacks = Counter.builder().name("armature_local_prefill_fallbacks_total")
            .help("Remote prefills computed on the decode worker instead, because the prefill worker or the KV transfer failed")
            .labelNames("reason").build();
    private final Counter blocks = Counter.builder().name("armature_kv_transfer_blocks_total")
            .help("KV blocks received from other workers").build();
    private final Counter bytes = Counter.builder().name("armature_kv_transfer_bytes_total")
            .help("Bytes of KV blocks received from other workers").build();
    private final Histogram seconds = Histogram.builder().name("armature_kv_transfer_seconds")
            .help("Time of one KV transfer, from reserving the blocks to the last one written")
            .classicOnly().classicUpperBounds(SECONDS).build();

    /** Registers the router-side metrics ({@code routing}) and/or the transfer-side ones in {@code registry}. */
    void register(PrometheusRegistry registry, boolean routing, boolean transfers) {
        if (routing) {
            registry.register(remote);
            registry.register(local);
        }
        registry.register(fallbacks);
        if (transfers) {
            registry.register(blocks);
            registry.register(bytes);
            registry.register(seconds);
        }
    }

    @Override
    public void placed(RemotePrefillRule.Choice choice) {
        switch (choice) {
            case REMOTE -> remote.inc();
            case LOCAL_SHORT -> local.labelValues("short").inc();
            case LOCAL_PREFILL_QUEUE_FULL -> local.labelValues("prefill_queue").inc();
            case LOCAL_NO_PREFILL_WORKER -> local.labelValues("no_prefill_worker").inc();
            case LOCAL_NOT_DECODE_WORKER -> local.labelValues("aggregated_worker").inc();
            case LOCAL_NO_DECODE_WORKER -> local.labelValues("no_decode_worker").inc();
        }
    }

    @Override
    public void fellBack(String reason) {
        fallbacks.labelValues(reason).inc();
    }

    @Override
    public void received(int blocks, long bytes, double seconds) {
        this.blocks.inc(blocks);
        this.bytes.inc(bytes);
        this.seconds.observe(seconds);
    }

    @Override
    public void fellBack(String reason, int blocksReceived) {
        fallbacks.labelValues("transfer_failed").inc();
    }

    long remotePrefills() {
        return (long) remote.get();
    }

    double localPrefills(String reason) {
        return local.labelValues(reason).get();
    }

    double blocksReceived() {
        return blocks.get();
    }

    double fallbacks(String reason) {
        return fallbacks.labelValues(reason).get();
    }
}
