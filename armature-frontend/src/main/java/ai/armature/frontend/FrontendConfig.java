package ai.armature.frontend;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Settings of the OpenAI-compatible HTTP frontend: where it listens ({@code port} 0 picks a free port), the model
 * name clients must send, the accepted API keys (empty: no authentication), the most generation sequences admitted
 * at once (queued in the engine or running; beyond it requests get 429), the largest request body in bytes (beyond
 * it 413), how long {@link OpenAiServer#close()} lets in-flight requests finish before cancelling them, the model's
 * context length in tokens (0: ask the engine), and the wire: how long a request head may take to arrive (and a
 * body may pause), how long an idle keep-alive connection stays open, the most connections open at once (more wait
 * to be accepted), the browser origins allowed to call the API (CORS; empty: none, {@code *}: any), and how often a
 * throughput line is logged while busy ({@link Duration#ZERO}: never), and how model output is parsed and API
 * state kept ({@link ApiOptions}).
 */
public record FrontendConfig(
        String host,
        int port,
        String servedModelName,
        Set<String> apiKeys,
        int maxInFlightRequests,
        long maxBodyBytes,
        Duration shutdownGracePeriod,
        int maxContextTokens,
        Duration headerTimeout,
        Duration idleTimeout,
        int maxConnections,
        Set<String> allowedOrigins,
        Duration statsLogInterval,
        ApiOptions apis) {

    public static final int DEFAULT_PORT = 8080;
    public static final int DEFAULT_MAX_IN_FLIGHT = 4096;
    public static final long DEFAULT_MAX_BODY_BYTES = 16L << 20;
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(30);
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;
    public static final Duration DEFAULT_STATS_LOG_INTERVAL = Duration.ofSeconds(10);

    public FrontendConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(servedModelName, "servedModelName");
        Objects.requireNonNull(shutdownGracePeriod, "shutdownGracePeriod");
        Objects.requireNonNull(headerTimeout, "headerTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(statsLogInterval, "statsLogInterval");
        if (servedModelName.isBlank()) throw new IllegalArgumentException("the served model name must not be blank");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        if (maxInFlightRequests < 1) throw new IllegalArgumentException("max in-flight requests must be >= 1, got " + maxInFlightRequests);
        if (maxBodyBytes < 1) throw new IllegalArgumentException("max body bytes must be >= 1, got " + maxBodyBytes);
        if (shutdownGracePeriod.isNegative()) throw new IllegalArgumentException("the shutdown grace period must not be negative");
        if (maxContextTokens < 0) throw new IllegalArgumentException("max context tokens must be >= 0, got " + maxContextTokens);
        if (headerTimeout.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("--header-timeout must be at least 0.1 s, got " + headerTimeout);
        }
        if (idleTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("--idle-timeout must be at least 1 s, got " + idleTimeout);
        }
        if (maxConnections < 1) throw new IllegalArgumentException("--max-connections must be >= 1, got " + maxConnections);
        if (statsLogInterval.isNegative()) throw new IllegalArgumentException("the stats log interval must not be negative");
        apiKeys = apiKeys == null ? Set.of() : Set.copyOf(apiKeys);
        apis = apis == null ? ApiOptions.DEFAULTS : apis;
        allowedOrigins = allowedOrigins == null ? Set.of() : Set.copyOf(allowedOrigins);
        for (String o : allowedOrigins) {
            if (!o.equals("*") && !o.matches("https?://[^/\\s]+")) {
                throw new IllegalArgumentException("--allowed-origins takes origins like https://app.example.com (scheme, host, "
                        + "optional port, no path) or *, got '" + o + "'");
            }
        }
    }

    /** Listens on all interfaces, port 8080, no API keys, default limits, context length from the engine. */
    public static FrontendConfig defaults(String servedModelName) {
        return new FrontendConfig("0.0.0.0", DEFAULT_PORT, servedModelName, Set.of(), DEFAULT_MAX_IN_FLIGHT,
                DEFAULT_MAX_BODY_BYTES, DEFAULT_GRACE, 0, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
                Set.of(), DEFAULT_STATS_LOG_INTERVAL, ApiOptions.DEFAULTS);
    }

    public FrontendConfig withServedModelName(String name) {
        return new FrontendConfig(host, port, name, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, maxContextTokens,
                headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withHost(String newHost) {
        return new FrontendConfig(newHost, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withPort(int newPort) {
        return new FrontendConfig(host, newPort, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withApiKeys(Set<String> keys) {
        return new FrontendConfig(host, port, servedModelName, keys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withMaxInFlightRequests(int max) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, max, maxBodyBytes, shutdownGracePeriod, maxContextTokens,
                headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withMaxBodyBytes(long max) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, max, shutdownGracePeriod, maxContextTokens,
                headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withShutdownGracePeriod(Duration grace) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, grace, maxContextTokens,
                headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withMaxContextTokens(int max) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod, max,
                headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, apis);
    }

    /** The wire's limits: request head time (and longest body pause), idle keep-alive time, open connections. */
    public FrontendConfig withConnectionLimits(Duration header, Duration idle, int connections) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, header, idle, connections, allowedOrigins, statsLogInterval, apis);
    }

    public FrontendConfig withAllowedOrigins(Set<String> origins) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, headerTimeout, idleTimeout, maxConnections, origins, statsLogInterval, apis);
    }

    public FrontendConfig withStatsLogInterval(Duration interval) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, headerTimeout, idleTimeout, maxConnections, allowedOrigins, interval, apis);
    }

    public FrontendConfig withApis(ApiOptions options) {
        return new FrontendConfig(host, port, servedModelName, apiKeys, maxInFlightRequests, maxBodyBytes, shutdownGracePeriod,
                maxContextTokens, headerTimeout, idleTimeout, maxConnections, allowedOrigins, statsLogInterval, options);
    }
}
