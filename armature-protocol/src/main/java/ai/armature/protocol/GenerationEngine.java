package ai.armature.protocol;

/**
 * Something that generates tokens for requests: one worker, or a dispatcher over several. Thread-safe. This is
 * the seam between the frontend and the workers: in one JVM it is the worker itself, across processes a client
 * of the request plane.
 */
public interface GenerationEngine extends AutoCloseable {

    /** Starts a request; throws {@link RequestRejectedException} if it cannot be accepted. */
    GenerationStream submit(GenerateRequest request);

    /** Cancels a request by id; its resources are freed within one scheduler step. No-op for unknown ids. */
    void cancel(String requestId);

    /** A consistent snapshot of load and KV-cache counters. */
    EngineStats stats();

    /**
     * Counters of the KV tiers below the device pool (host memory, disk), one entry per configured tier, summed over
     * workers by a dispatcher; empty for an engine without lower tiers.
     */
    default java.util.List<ai.armature.protocol.kv.KvTierStats> kvTierStats() {
        return java.util.List.of();
    }

    /** Whether the engine can take requests: false once it is closed or its worker(s) died. */
    default boolean healthy() {
        return true;
    }

    /** The longest prompt + generation (in tokens) a request may use. */
    int maxContextTokens();

    @Override
    void close();
}
