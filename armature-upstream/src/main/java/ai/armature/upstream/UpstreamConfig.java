package ai.armature.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How to reach and use one external engine: its base URL (without {@code /v1}), its kind, the worker id it has among
 * Armature's workers, the model name clients ask for (its KV block hashes are salted with it, as the router's are),
 * the block size the router indexes it in, the served tokenizer's end-of-generation ids (a trailing one is not
 * passed on, as Armature's own workers do not emit it), the served tokenizer (to re-tokenize text-only upstreams),
 * an API key for the upstream (null: none), its context length (0: ask the upstream), and the health-check
 * interval, the consecutive failures that make it unhealthy, and the HTTP timeouts (connect; response headers and
 * health answers).
 */
public record UpstreamConfig(
        URI baseUrl,
        UpstreamKind kind,
        String workerId,
        String servedModelName,
        int blockSize,
        int[] endOfGenerationIds,
        TextEncoder encoder,
        String apiKey,
        int contextLength,
        Duration healthInterval,
        int healthFailures,
        Duration connectTimeout,
        Duration requestTimeout) {

    public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(1);
    public static final int DEFAULT_HEALTH_FAILURES = 2;

    public UpstreamConfig {
        Objects.requireNonNull(baseUrl, "baseUrl");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(servedModelName, "servedModelName");
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(healthInterval, "healthInterval");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        endOfGenerationIds = endOfGenerationIds == null ? new int[0] : endOfGenerationIds.clone();
        String scheme = baseUrl.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme) || baseUrl.getHost() == null) {
            throw new IllegalArgumentException("--upstream must be an http:// or https:// URL with a host, got '" + baseUrl + "'");
        }
        if (blockSize < 1) throw new IllegalArgumentException("--upstream-block-size must be >= 1, got " + blockSize);
        if (contextLength < 0) throw new IllegalArgumentException("--upstream-context-length must be >= 0, got " + contextLength);
        if (healthFailures < 1) throw new IllegalArgumentException("the health-failure threshold must be >= 1");
        if (healthInterval.isNegative() || healthInterval.isZero()) throw new IllegalArgumentException("the health interval must be > 0");
    }

    /** A config with the default block size of its kind, no key, the context length asked of the upstream and default timings. */
    public static UpstreamConfig of(URI baseUrl, UpstreamKind kind, String workerId, String servedModelName,
                                    int[] endOfGenerationIds, TextEncoder encoder) {
        return new UpstreamConfig(normalize(baseUrl), kind, workerId, servedModelName, kind.defaultBlockSize(), endOfGenerationIds,
                encoder, null, 0, DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_FAILURES, Duration.ofSeconds(5), Duration.ofSeconds(30));
    }

    public UpstreamConfig withBlockSize(int v) {
        return new UpstreamConfig(baseUrl, kind, workerId, servedModelName, v, endOfGenerationIds, encoder, apiKey, contextLength,
                healthInterval, healthFailures, connectTimeout, requestTimeout);
    }

    public UpstreamConfig withApiKey(String v) {
        return new UpstreamConfig(baseUrl, kind, workerId, servedModelName, blockSize, endOfGenerationIds, encoder, v, contextLength,
                healthInterval, healthFailures, connectTimeout, requestTimeout);
    }

    public UpstreamConfig withContextLength(int v) {
        return new UpstreamConfig(baseUrl, kind, workerId, servedModelName, blockSize, endOfGenerationIds, encoder, apiKey, v,
                healthInterval, healthFailures, connectTimeout, requestTimeout);
    }

    public UpstreamConfig withHealth(Duration interval, int failures) {
        return new UpstreamConfig(baseUrl, kind, workerId, servedModelName, blockSize, endOfGenerationIds, encoder, apiKey, contextLength,
                interval, failures, connectTimeout, requestTimeout);
    }

    /** The URL of a path under the base ({@code path} starts with '/'). */
    URI resolve(String path) {
        String b = baseUrl.toString();
        return URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) + path : b + path);
    }

    /** Strips a trailing {@code /v1} (people paste OpenAI base URLs) and slashes. */
    public static URI normalize(URI url) {
        String s = url.toString();
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        if (s.endsWith("/v1")) s = s.substring(0, s.length() - 3);
        return URI.create(s);
    }

    boolean isEndOfGeneration(int token) {
        for (int id : endOfGenerationIds) if (id == token) return true;
        return false;
    }
}
