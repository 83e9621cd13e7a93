package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Streams requests to an OpenAI-compatible server over HTTP/1.1 with the JDK client and measures them. Each
 * request is sent with {@code stream: true} and {@code stream_options.include_usage}, plus {@code ignore_eos} and
 * {@code min_tokens} (unless disabled) so that servers which know those fields generate exactly
 * {@code max_tokens}; servers that do not know them ignore them. Failures never throw: they come back as a
 * {@link RequestRecord} with an {@link ErrorKind}.
 */
public final class OpenAiClient implements RequestSender, AutoCloseable {

    /** The outcome of one request: its measurements and the streamed text (kept only when asked for). */
    public record Result(RequestRecord record, String text) {
    }

    private final URI base;
    private final String apiKey;
    private final String model;
    private final Duration requestTimeout;
    private final boolean ignoreEos;
    private final HttpClient http;
    private final ExecutorService executor;
    private final ScheduledExecutorService watchdog;
    private final ObjectMapper json = new ObjectMapper();

    /**
     * @param baseUrl        server root, e.g. {@code http://localhost:8000} (a trailing {@code /v1} is accepted)
     * @param model          the model name sent with every request
     * @param apiKey         sent as a bearer token when not null
     * @param requestTimeout a request still running after this is abandoned and counted as a timeout
     * @param ignoreEos      send {@code ignore_eos} and {@code min_tokens}
     */
    public OpenAiClient(String baseUrl, String model, String apiKey, Duration requestTimeout, boolean ignoreEos) {
        this.base = baseUri(baseUrl);
        this.model = model;
        this.apiKey = apiKey;
        this.requestTimeout = requestTimeout;
        this.ignoreEos = ignoreEos;
        // Stream callbacks are short; one platform thread pool keeps them off the requesting virtual threads.
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "bench-http");
            t.setDaemon(true);
            return t;
        });
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(requestTimeout)
                .executor(executor)
                .build();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-timeouts");
            t.setDaemon(true);
            return t;
        });
    }

    static URI baseUri(String url) {
        String u = url.strip();
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        if (u.endsWith("/v1")) {
            u = u.substring(0, u.length() - 3);
        }
        if (!u.startsWith("http://") && !u.startsWith("https://")) {
            throw new IllegalArgumentException("--url must start with http:// or https:// (got '" + url + "')");
        }
        return URI.create(u);
    }

    public String model() {
        return model;
    }

    /**
     * Fails at once, with what to do, when the server refuses the key (none, or a wrong one): otherwise every
     * request of the run would fail the same way. Any other answer of {@code GET /v1/models} is left to the run.
     */
    public static void checkAuthorized(String baseUrl, String apiKey, Duration timeout) throws IOException {
        URI uri = baseUri(baseUrl).resolve("/v1/models");
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).GET();
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        try (HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build()) {
            int status = c.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            if (status == 401 || status == 403) {
                throw new IOException(unauthorized(uri, status, apiKey));
            }
        } catch (ConnectException e) {
            throw new IOException("cannot connect to " + uri + ": is the server running? (" + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while asking " + uri);
        }
    }

    private static String unauthorized(URI uri, int status, String apiKey) {
        return uri.resolve("/") + " answered HTTP " + status + (apiKey == null
                ? ": it needs an API key; pass --api-key KEY (or set OPENAI_API_KEY)"
                : ": it refused the API key given (--api-key or OPENAI_API_KEY)");
    }

    /** Asks {@code GET /v1/models} for the served models and returns the first id. */
    public static String firstModel(String baseUrl, String apiKey, Duration timeout) throws IOException {
        URI uri = baseUri(baseUrl).resolve("/v1/models");
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).GET();
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        try (HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build()) {
            HttpResponse<String> r = c.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 401 || r.statusCode() == 403) {
                throw new IOException(unauthorized(uri, r.statusCode(), apiKey));
            }
            if (r.statusCode() != 200) {
                throw new IOException("GET " + uri + " answered HTTP " + r.statusCode() + "; pass --model");
            }
            JsonNode data = new ObjectMapper().readTree(r.body()).path("data");
            if (!data.isArray() || data.isEmpty() || !data.get(0).hasNonNull("id")) {
                throw new IOException("GET " + uri + " listed no models; pass --model");
            }
            return data.get(0).get("id").asText();
        } catch (ConnectException e) {
            throw new IOException("cannot connect to " + uri + ": is the server running? (" + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while asking " + uri);
        }
    }

    /**
     * Sends one request and blocks until it finished, failed or timed out; times are {@link System#nanoTime()}
     * ({@link BenchClock#SYSTEM}).
     */
    @Override
    public Result send(RequestSpec spec, Endpoint endpoint, long index, long runStartNanos, long scheduledOffsetNanos,
                       boolean keepText) {
        byte[] body = body(spec, endpoint);
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(endpoint.path()))
                .timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        SseStream stream = new SseStream(json, keepText, System::nanoTime);
        long start = System.nanoTime();
        stream.start(start);
        CompletableFuture<HttpResponse<Void>> f = http.sendAsync(b.build(), stream.handler());
        ScheduledFuture<?> timer = watchdog.schedule(() -> {
            stream.timeOut();
            f.cancel(true);
        }, requestTimeout.toNanos(), TimeUnit.NANOSECONDS);
        Throwable failure = null;
        try {
            f.get();
        } catch (ExecutionException | CompletionException e) {
            failure = e.getCause();
        } catch (CancellationException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            failure = e;
        } finally {
            timer.cancel(false);
        }
        long end = System.nanoTime();
        return stream.finish(failure, end, spec, endpoint, index, runStartNanos, scheduledOffsetNanos);
    }

    byte[] body(RequestSpec spec, Endpoint endpoint) {
        ObjectNode o = json.createObjectNode();
        o.put("model", model);
        if (endpoint == Endpoint.CHAT) {
            ArrayNode msgs = o.putArray("messages");
            for (ChatMessage m : spec.messages()) {
                msgs.addObject().put("role", m.role()).put("content", m.content());
            }
        } else {
            o.put("prompt", spec.prompt());
        }
        o.put("max_tokens", spec.maxTokens());
        o.put("stream", true);
        o.putObject("stream_options").put("include_usage", true);
        if (ignoreEos) {
            o.put("ignore_eos", true);
            o.put("min_tokens", spec.maxTokens());
        }
        try {
            return json.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Classifies a transport failure. */
    static ErrorKind classify(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof HttpConnectTimeoutException || c instanceof ConnectException) {
                return ErrorKind.CONNECTION_REFUSED;
            }
            if (c instanceof HttpTimeoutException) {
                return ErrorKind.TIMEOUT;
            }
        }
        return ErrorKind.CONNECTION_DROPPED;
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        http.shutdownNow();
        executor.shutdownNow();
    }

    static String bodyText(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
