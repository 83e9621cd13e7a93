package ai.armature.cli;

import ai.armature.frontend.ApiOptions;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * The HTTP server's options and lifecycle, shared by the commands that serve the OpenAI API ({@code serve},
 * {@code frontend}): where it listens, its API keys, admission and body limits, timeouts for slow and idle clients,
 * the connection limit, the browser origins allowed to call the API, the periodic throughput line, and the drain on
 * shutdown, so both commands validate, configure and stop their server the same way.
 */
final class HttpOptions {

    @Option(names = "--host", defaultValue = "0.0.0.0",
            description = "Address to listen on. Default: ${DEFAULT-VALUE} (every interface: use --api-key, or 127.0.0.1).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on (0: any free port). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--api-key", description = "Require this key (Authorization: Bearer KEY).")
    String apiKey;

    @Option(names = "--api-keys-file", description = "Require one of the keys in this file (one per line; # comments).")
    Path apiKeysFile;

    @Option(names = "--max-queued", defaultValue = "4096",
            description = "Most requests in flight (running or waiting) before new ones get 429. Default: ${DEFAULT-VALUE}.")
    int maxQueued;

    @Option(names = "--max-body-bytes", defaultValue = "16777216", description = "Largest request body; larger gets 413. Default: ${DEFAULT-VALUE}.")
    long maxBodyBytes;

    @Option(names = "--shutdown-grace", defaultValue = "30", description = "Seconds in-flight requests may finish on shutdown. Default: ${DEFAULT-VALUE}.")
    int shutdownGraceSeconds;

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

    /** The keys read by {@link #check()}. */
    private Set<String> keys;

    /** Fails with a one-line error on a value out of range or an unreadable or empty keys file, before anything loads. */
    void check() throws IOException {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be between 0 and 65535, got " + port);
        if (maxQueued < 1) throw new IllegalArgumentException("--max-queued must be at least 1, got " + maxQueued);
        if (shutdownGraceSeconds < 0) throw new IllegalArgumentException("--shutdown-grace must be >= 0");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("--max-body-bytes must be at least 1024");
        keys = apiKeys();
    }

    /**
     * The server's configuration for the model id {@code name} (the frontend's own name when it serves many); after
     * {@link #check()}.
     */
    FrontendConfig config(String name, ApiOptions apis) {
        if (keys == null) throw new IllegalStateException("check() first");
        Set<String> origins = new LinkedHashSet<>();
        for (String o : allowedOrigins) if (!o.isBlank()) origins.add(o.strip());
        return FrontendConfig.defaults(name).withHost(host).withPort(port).withApiKeys(keys)
                .withMaxInFlightRequests(maxQueued).withMaxBodyBytes(maxBodyBytes)
                .withShutdownGracePeriod(Duration.ofSeconds(shutdownGraceSeconds)).withApis(apis)
                .withConnectionLimits(headerTimeout, idleTimeout, maxConnections).withAllowedOrigins(origins)
                .withStatsLogInterval(statsInterval);
    }

    /** The keys of {@code --api-key} and {@code --api-keys-file} (one per line, # comments). */
    private Set<String> apiKeys() throws IOException {
        Set<String> keys = new LinkedHashSet<>();
        if (apiKey != null) {
            if (apiKey.isBlank()) throw new IllegalArgumentException("--api-key must not be empty");
            keys.add(apiKey);
        }
        if (apiKeysFile != null) {
            for (String line : Files.readAllLines(apiKeysFile)) {
                String k = line.strip();
                if (!k.isEmpty() && !k.startsWith("#")) keys.add(k);
            }
            if (keys.isEmpty()) throw new IllegalArgumentException("--api-keys-file " + apiKeysFile + " holds no keys");
        }
        return keys;
    }

    /**
     * Starts {@code server}, calls {@code ready} with the base URL clients use, then serves until SIGINT or SIGTERM
     * ({@link StopSignals}), and drains in-flight requests for up to {@code --shutdown-grace}.
     */
    void serveUntilStopped(OpenAiServer server, Consumer<String> ready) throws InterruptedException {
        CountDownLatch stop = StopSignals.install();
        int bound;
        try {
            bound = server.start();
        } catch (IllegalStateException e) {
            throw new CliErrors.UserError(e.getMessage());
        }
        String shownHost = host.equals("0.0.0.0") ? "localhost" : host;
        ready.accept("http://" + shownHost + ":" + bound + "/v1");
        stop.await();
        System.err.println("armature: shutting down: draining in-flight requests (up to " + shutdownGraceSeconds + " s)...");
        boolean clean = server.drain(Duration.ofSeconds(shutdownGraceSeconds));
        server.close();
        System.err.println("armature: stopped" + (clean ? "" : " (requests still running at the deadline were cancelled)"));
    }
}
