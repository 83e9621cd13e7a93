package ai.armature.protocol;

import java.util.Objects;

/**
 * What a worker instance registers in discovery so that frontends and routers can use it without its weights:
 * <ul>
 *   <li>{@code workerId}: unique per worker process (the discovery key);</li>
 *   <li>{@code servedModelName}: the model name clients ask for; {@code modelId}: the name the worker's KV block
 *       hashes are salted with ({@link ai.armature.protocol.kv.BlockHasher}), which a router must use too;</li>
 *   <li>{@code contextLength} (tokens) and {@code kvBlockSize} (tokens per KV block);</li>
 *   <li>{@code role}: {@code aggregated} (prefill and decode), {@code prefill} or {@code decode} (disaggregated serving);</li>
 *   <li>{@code requestEndpoint} ({@code host:port} of its gRPC request plane; {@code requestTls} when it requires
 *       TLS) and {@code metricsEndpoint} (the URL of its Prometheus metrics, or empty);</li>
 *   <li>{@code tokenizerSha256} and {@code tokenizerBytes}: the tokenizer bundle (tokenizer and chat template
 *       files, megabytes for a real vocabulary, so not in the card itself) that a frontend fetches from the
 *       worker's request plane and checks against the hash;</li>
 *   <li>{@code publishesKvEvents}: whether it publishes KV events (a router can index it exactly).</li>
 * </ul>
 */
public record ModelCard(
        String workerId,
        String servedModelName,
        String modelId,
        int contextLength,
        int kvBlockSize,
        String role,
        String requestEndpoint,
        boolean requestTls,
        String metricsEndpoint,
        String tokenizerSha256,
        long tokenizerBytes,
        boolean publishesKvEvents) {

    public static final String ROLE_AGGREGATED = "aggregated";
    /** Disaggregation: the worker prefills prompts for decode workers (armature worker --role prefill). */
    public static final String ROLE_PREFILL = "prefill";
    /** Disaggregation: the worker decodes, fetching prompts' KV from prefill workers when that pays (--role decode). */
    public static final String ROLE_DECODE = "decode";

    public ModelCard {
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(servedModelName, "servedModelName");
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(requestEndpoint, "requestEndpoint");
        if (workerId.isBlank() || servedModelName.isBlank()) throw new IllegalArgumentException("a model card needs a worker id and a model name");
        if (contextLength < 2) throw new IllegalArgumentException("context length must be >= 2, got " + contextLength);
        if (kvBlockSize < 1) throw new IllegalArgumentException("KV block size must be >= 1, got " + kvBlockSize);
        metricsEndpoint = metricsEndpoint == null ? "" : metricsEndpoint;
        tokenizerSha256 = tokenizerSha256 == null ? "" : tokenizerSha256;
    }
}
