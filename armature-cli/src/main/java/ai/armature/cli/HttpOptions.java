package ai.armature.cli;

import ai.armature.frontend.FrontendConfig;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The HTTP server's wire options, shared by the commands that serve the OpenAI API ({@code serve},
 * {@code frontend}): timeouts for slow and idle clients, the connection limit, the browser origins allowed to call
 * the API, and the periodic throughput line.
 */
final class HttpOptions {

    @Option(names = "--header-timeout", defaultValue = "30s", converter = DurationConverter.class,
            description = {"A connection whose request head is not complete this long after it connected (or after the request",
                    "started), or whose body pauses this long, is closed. Default: ${DEFAULT-VALUE}."})
    Duration headerTimeout;

    @Option(names = "--idle-timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "A keep-alive connection with no request for this long is closed. Default: ${DEFAULT-VALUE}.")
    Duration idleTimeout;

    @Option(names = "--max-connections", defaultValue = "" + FrontendConfig.DEFAULT_MAX_CONNECTIONS,
            description = "Most client connections open at once; more wait to be accepted. Default: ${DEFAULT-VALUE}.")
    int maxConnections;

    @Option(names = "--allowed-origins", split = ",", paramLabel = "ORIGIN",
            description = {"Browser origins allowed to call the API (CORS), e.g. https://app.example.com, comma-separated;",
                    "* allows any. Default: none (browsers keep cross-origin answers from pages)."})
    List<String> allowedOrigins = List.of();

    @Option(names = "--log-stats-interval", defaultValue = "10s", converter = DurationConverter.class,
            description = {"While busy, log one line this often: prompt and generation tokens/s, running and waiting requests,",
                    "KV cache use, prefix cache hit rate (0: never). Default: ${DEFAULT-VALUE}."})
    Duration statsInterval;

    /** {@code config} with these options; a bad value is a one-line error. */
    FrontendConfig apply(FrontendConfig config) {
        Set<String> origins = new LinkedHashSet<>();
        for (String o : allowedOrigins) if (!o.isBlank()) origins.add(o.strip());
        return config.withConnectionLimits(headerTimeout, idleTimeout, maxConnections).withAllowedOrigins(origins)
                .withStatsLogInterval(statsInterval);
    }
}
