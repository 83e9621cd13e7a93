package ai.armature.frontend;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Settings of the OpenAI-compatible HTTP frontend: where it listens ({@code port} 0 picks a free port), the model
 * name clients must send, the accepted API keys (empty: no authentication), the most generation sequences admitted
 * at once (queued in the engine or running; beyond it requests get 429), the largest request body in bytes (beyond
 * it 413), how long {@link OpenAiServer#close()} lets in-flight requests finish before cancelling them, and the
 * model's context length in tokens (0: ask the engine).
 */
public record FrontendConfig(
        String host,
        int port,
        String servedModelName,
        Set<String> apiKeys,
        int maxInFlightRequests,
        long maxBodyBytes,
        Duration shutdownGracePeriod,
        int maxContextTokens) {

    public static final int DEFAULT_PORT = 8080;
    public static final int DEFAULT_MAX_IN_FLIGHT = 4096;
    public static final long DEFAULT_MAX_BODY_BYTES = 16L << 20;
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(30);

    public FrontendConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(servedModelName, "servedModelName");
        Objects.requireNonNull(shutdownGracePeriod, "shutdownGracePeriod");
        if (servedModelName.isBlank()) throw new IllegalArgumentException("the served model name must not be blank");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        if (maxInFlightRequests < 1) throw new IllegalArgumentException("max in-flight requests must be >= 1, got " + maxInFlightRequests);
        if (maxBodyBytes < 1) throw new IllegalArgumentException("max body bytes must be >= 1, got " + maxBodyBytes);
        if (shutdownGracePeriod.isNegative()) throw new IllegalArgumentException("the shutdown grace period must not be negative");
        if (maxContextTokens < 0) throw new IllegalArgumentException("max context tokens must be >= 0, got " + maxContextTokens);
        apiKeys = apiKeys == null ? Set.of() : Set.copyOf(apiKeys);
    }

    /** Listens on all interfaces, port 8080, no API keys, default limits, context length from the engine. */
    public static FrontendConfig defaults(String servedModelName) {
        return new FrontendConfig("0.0.0.0", DEFAULT_PORT, servedModelName, Set.of(), DEFAULT_MAX_IN_FLIGHT,
                DEFAULT_MAX_BODY_BYTES, DEFAULT_GRACE, 0);
    }

    public FrontendConfig withServedModelName(String name) {
        return new FrontendConfig(host, port, name, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, maxContextTokens);
    }

    public FrontendConfig withHost(String newHost) {
        return new FrontendConfig(newHost, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, maxContextTokens);
    }

    public FrontendConfig withPort(int newPort) {
        return new FrontendConfig(host, newPort, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, maxContextTokens);
    }

    public FrontendConfig withApiKeys(Set<String> keys) {
        return new FrontendConfig(host, port, servedModelName, keys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, maxContextTokens);
    }

    public FrontendConfig withMaxInFlightRequests(int max) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, max, maxBodyBytes, shutdownGracePeriod, maxContextTokens);
    }

    public FrontendConfig withMaxBodyBytes(long max) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, max, shutdownGracePeriod, maxContextTokens);
    }

    public FrontendConfig withShutdownGracePeriod(Duration grace) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, grace, maxContextTokens);
    }

    public FrontendConfig withMaxContextTokens(int max) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, max);
    }
}
