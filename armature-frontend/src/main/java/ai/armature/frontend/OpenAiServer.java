package ai.armature.frontend;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.protocol.GenerationEngine;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The OpenAI-compatible HTTP server (Helidon SE on virtual threads, HTTP/1.1 and HTTP/2): chat and text
 * completions (streaming over SSE or not), models, health, liveness and Prometheus metrics, in front of one
 * {@link GenerationEngine}. Text is turned into tokens here (chat template, tokenizer) and tokens back into text
 * (streaming detokenizer, stop strings). Lifecycle: {@link #start()} binds and returns the port; {@link #drain}
 * stops accepting work, lets in-flight requests finish within a grace period and cancels the rest;
 * {@link #close()} drains with the configured grace period and stops the server. The engine belongs to the caller
 * and is not closed here.
 */
public final class OpenAiServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(OpenAiServer.class.getName());
    /** How long a drain waits for serving threads to notice a cancel before interrupting them. */
    private static final Duration CANCEL_SETTLE = Duration.ofSeconds(5);

    private final FrontendConfig config;
    private final ServedModels models;
    /** One generation handler per served model (its tokenizer, template and engine), made on first use. */
    private final java.util.concurrent.ConcurrentHashMap<ServedModels.ServedModel, GenerationHandler> handlers =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final ObjectMapper mapper = new ObjectMapper();
    private final JsonFactory jsonFactory = mapper.getFactory();
    private final Admission admission;
    private final FrontendMetrics metrics;
    private final byte[][] apiKeyDigests;
    private final long createdEpochSeconds = System.currentTimeMillis() / 1000;
    private volatile WebServer server;
    private volatile boolean ready;
    private boolean closed;

    public OpenAiServer(FrontendConfig config, GenerationEngine engine, Tokenizer tokenizer, ChatTemplate chatTemplate) {
        this(config, ServedModels.single(new ServedModels.ServedModel(Objects.requireNonNull(config, "config").servedModelName(),
                engine, tokenizer, chatTemplate, config.maxContextTokens())));
    }

    /** A server for one embedding model: {@code /v1/embeddings} embeds, chat and completions answer 400. */
    public static OpenAiServer forEmbeddings(FrontendConfig config, ai.armature.protocol.EmbeddingEngine embeddings,
                                             GenerationEngine refusing, Tokenizer tokenizer, ChatTemplate chatTemplate) {
        return new OpenAiServer(config, ServedModels.single(new ServedModels.ServedModel(config.servedModelName(), refusing, tokenizer,
                chatTemplate, embeddings.maxInputTokens(), embeddings)));
    }

    /** A server for several models (a frontend over discovered workers); {@code config.servedModelName()} is unused. */
    public OpenAiServer(FrontendConfig config, ServedModels models) {
        this.config = Objects.requireNonNull(config, "config");
        this.models = Objects.requireNonNull(models, "models");
        this.admission = new Admission(config.maxInFlightRequests());
        this.metrics = new FrontendMetrics(() -> {
            List<ai.armature.protocol.EngineStats> parts = new java.util.ArrayList<>();
            for (ServedModels.ServedModel m : models.listed()) parts.add(m.engine().stats());
            return ai.armature.protocol.EngineStats.sum(parts);
        }, () -> {
            List<List<ai.armature.protocol.kv.KvTierStats>> parts = new java.util.ArrayList<>();
            for (ServedModels.ServedModel m : models.listed()) parts.add(m.engine().kvTierStats());
            return ai.armature.protocol.kv.KvTierStats.sum(parts);
        });
        this.apiKeyDigests = config.apiKeys().stream().map(OpenAiServer::sha256).toArray(byte[][]::new);
    }

    private GenerationHandler handler(ServedModels.ServedModel m) {
        return handlers.computeIfAbsent(m, k -> new GenerationHandler(
                config.withServedModelName(k.name()).withMaxContextTokens(k.contextTokens()), k.engine(), k.tokenizer(),
                new PromptBuilder(k.tokenizer(), k.chatTemplate(), mapper), admission, metrics, jsonFactory));
    }

    /** The model a request names: its own "model", or the only one served when it names none. */
    private ServedModels.ServedModel modelOf(JsonNode body) {
        JsonNode name = body.get("model");
        if (!RequestParser.present(name)) {
            List<ServedModels.ServedModel> listed = models.listed();
            if (listed.size() == 1) return listed.getFirst();
            throw ApiException.badRequest("model", listed.isEmpty() ? "no model is being served right now: retry later"
                    : "this server serves several models: say which one in \"model\" (see GET /v1/models)");
        }
        if (!name.isTextual()) throw ApiException.badRequest("model", "model must be a string");
        ServedModels.ServedModel m = models.find(name.asText());
        if (m == null) {
            throw ApiException.notFound("model", "model_not_found", "The model '" + name.asText() + "' does not exist; this server serves "
                    + servedNames() + " (see GET /v1/models)");
        }
        if (!m.engine().healthy()) {
            throw ApiException.unavailable("no worker serves the model '" + m.name() + "' right now: retry later");
        }
        return m;
    }

    private String servedNames() {
        List<String> names = models.listed().stream().map(m -> "'" + m.name() + "'").toList();
        return names.isEmpty() ? "no model right now" : String.join(", ", names);
    }

    /**
     * Binds the listener and starts serving; returns the bound port (useful with port 0).
     *
     * @throws IllegalStateException if the address cannot be bound (for instance, the port is in use)
     */
    public synchronized int start() {
        if (server != null) throw new IllegalStateException("the server is already started");
        if (closed) throw new IllegalStateException("the server is closed");
        server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownGracePeriod(Duration.ofMillis(500))
                .routing(this::routes)
                .build()
                .start();
        if (!server.isRunning() || server.port() < 0) {
            // Helidon reports a failed bind (address in use, no such interface) by not running, not by throwing.
            server.stop();
            server = null;
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port()
                    + ": the address is in use or not available on this machine");
        }
        ready = true;
        return server.port();
    }

    /** The Prometheus registry /metrics serves: components behind the engine (a router) register theirs here. */
    public io.prometheus.metrics.model.registry.PrometheusRegistry metricsRegistry() {
        return metrics.registry();
    }

    /** The bound port; only valid after {@link #start()}. */
    public int port() {
        WebServer s = server;
        if (s == null) throw new IllegalStateException("the server is not started");
        return s.port();
    }

    /** The context length requests to the first served model are checked against (configured, or the engine's). */
    public int contextTokens() {
        return handler(models.listed().getFirst()).contextTokens();
    }

    /** Whether /health reports ready: started and not draining. */
    public boolean ready() {
        return ready && !admission.draining();
    }

    /** Generation sequences currently admitted (for tests and the CLI's shutdown message). */
    public int inFlightSequences() {
        return admission.inFlightSequences();
    }

    /** Waits until no generation request is in flight (or {@code timeout} passes); returns whether it became idle. */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        return admission.awaitIdle(timeout);
    }

    /**
     * Stops accepting generation requests (they get 503, /health too), waits up to {@code grace} for in-flight
     * requests to finish, then cancels what is left and waits briefly for those to end. Returns whether everything
     * finished within the grace period. The listener stays up (so clients get 503 rather than refused connections)
     * until {@link #close()}.
     */
    public boolean drain(Duration grace) {
        admission.startDraining();
        try {
            if (admission.awaitIdle(grace)) return true;
            LOG.log(System.Logger.Level.INFO, "Grace period over: cancelling " + admission.inFlightSequences() + " in-flight sequences");
            cancelAll();
            if (!admission.awaitIdle(CANCEL_SETTLE)) {
                admission.interruptAll();
                admission.awaitIdle(CANCEL_SETTLE);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancelAll();
            return false;
        }
    }

    private void cancelAll() {
        for (ServedModels.ServedModel m : models.listed()) admission.cancelAll(m.engine());
        for (ServedModels.ServedModel m : handlers.keySet()) admission.cancelAll(m.engine());
    }

    /** Drains with the configured grace period, then stops the HTTP server. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        drain(config.shutdownGracePeriod());
        ready = false;
        if (server != null) server.stop();
    }

    // ---- routing ----

    private void routes(HttpRouting.Builder r) {
        r.post("/v1/embeddings", this::embeddings)
                .post(Endpoint.CHAT.path, (req, res) -> generate(Endpoint.CHAT, req, res))
                .post(Endpoint.COMPLETIONS.path, (req, res) -> generate(Endpoint.COMPLETIONS, req, res))
                .get("/v1/models", (req, res) -> guarded("/v1/models", req, res, () -> models(res, null)))
                .get("/v1/models/*", (req, res) -> guarded("/v1/models", req, res,
                        () -> models(res, req.path().path().substring("/v1/models/".length()))))
                .get("/health", this::health)
                .get("/live", (req, res) -> sendJson(res, 200, "{\"status\":\"alive\"}"))
                .get("/metrics", this::metrics)
                .any((req, res) -> guarded("other", req, res, () -> {
                    throw ApiException.notFound(null, "unknown_url", "Unknown request URL: " + req.prologue().method().text()
                            + " " + req.path().path() + ". Please check the URL for typos, or see the API reference.");
                }));
    }

    private void generate(Endpoint endpoint, ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        int status;
        try {
            admission.checkOpen();
            authorize(req);
            JsonNode body = parse(readBody(req));
            status = handler(modelOf(body)).serve(endpoint, body, res, start);
        } catch (ApiException e) {
            status = sendError(res, e);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Unexpected failure serving " + endpoint.path, e);
            status = sendError(res, ApiException.internal("internal error: " + e));
        }
        metrics.request(endpoint.path, status);
    }

    /** POST /v1/embeddings for the model the request names (one that has an embedding engine). */
    private void embeddings(ServerRequest req, ServerResponse res) {
        int status;
        try {
            admission.checkOpen();
            authorize(req);
            JsonNode body = parse(readBody(req));
            ServedModels.ServedModel m = modelOf(body);
            if (m.embeddings() == null) {
                throw ApiException.badRequest("model", "the model '" + m.name() + "' does not serve embeddings (it is a generation model)");
            }
            byte[] out = new EmbeddingsHandler(m.embeddings(), m.tokenizer(), jsonFactory, m.name()).handle(body);
            sendJson(res, 200, out);
            status = 200;
        } catch (ApiException e) {
            status = sendError(res, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = sendError(res, ApiException.unavailable("the request was interrupted because the server is shutting down"));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Unexpected failure serving /v1/embeddings", e);
            status = sendError(res, ApiException.internal("internal error: " + e));
        }
        metrics.request("/v1/embeddings", status);
    }

    /** Runs a non-generation API handler with authentication and uniform error handling. */
    private void guarded(String metricName, ServerRequest req, ServerResponse res, Runnable action) {
        int status = 200;
        try {
            authorize(req);
            action.run();
        } catch (ApiException e) {
            status = sendError(res, e);
        }
        metrics.request(metricName, status);
    }

    private void models(ServerResponse res, String id) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256);
            try (JsonGenerator g = jsonFactory.createGenerator(out)) {
                if (id == null) {
                    g.writeStartObject();
                    g.writeStringField("object", "list");
                    g.writeArrayFieldStart("data");
                    for (ServedModels.ServedModel m : models.listed()) writeModel(g, m);
                    g.writeEndArray();
                    g.writeEndObject();
                } else {
                    ServedModels.ServedModel m = models.listed().stream().filter(x -> x.name().equals(id)).findFirst().orElse(null);
                    if (m == null) {
                        throw ApiException.notFound("model", "model_not_found", "The model '" + id + "' does not exist; this server serves "
                                + servedNames());
                    }
                    writeModel(g, m);
                }
            }
            sendJson(res, 200, out.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void writeModel(JsonGenerator g, ServedModels.ServedModel m) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", m.name());
        g.writeStringField("object", "model");
        g.writeNumberField("created", createdEpochSeconds);
        g.writeStringField("owned_by", "armature");
        g.writeNumberField("max_model_len", handler(m).contextTokens());
        g.writeEndObject();
    }

    private void health(ServerRequest req, ServerResponse res) {
        if (ready() && models.listed().stream().noneMatch(m -> m.engine().healthy())) {
            sendJson(res, 503, "{\"status\":\"engine unavailable\"}");
        } else if (ready()) {
            sendJson(res, 200, "{\"status\":\"ready\"}");
        } else {
            sendJson(res, 503, admission.draining() ? "{\"status\":\"draining\"}" : "{\"status\":\"starting\"}");
        }
    }

    private void metrics(ServerRequest req, ServerResponse res) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        metrics.write(out);
        res.status(200);
        res.header(HeaderNames.CONTENT_TYPE, metrics.contentType());
        res.send(out.toByteArray());
    }

    // ---- request plumbing ----

    private void authorize(ServerRequest req) {
        if (apiKeyDigests.length == 0) return;
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (header == null) {
            throw ApiException.unauthorized("You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'.");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiException.unauthorized("The Authorization header must be 'Bearer YOUR_KEY'.");
        }
        byte[] given = sha256(header.substring(7).trim());
        boolean ok = false;
        for (byte[] key : apiKeyDigests) ok |= MessageDigest.isEqual(key, given); // constant time, no early exit
        if (!ok) throw ApiException.unauthorized("Incorrect API key provided.");
    }

    private byte[] readBody(ServerRequest req) {
        long limit = config.maxBodyBytes();
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw ApiException.tooLarge("The request body is " + declared.getAsLong() + " bytes; the limit is " + limit + " bytes.");
        }
        try (InputStream in = req.content().inputStream()) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (body.length > limit) {
                throw ApiException.tooLarge("The request body is larger than the limit of " + limit + " bytes.");
            }
            return body;
        } catch (IOException | UncheckedIOException e) {
            throw ApiException.badRequest(null, "Could not read the request body: " + e.getMessage());
        }
    }

    private JsonNode parse(byte[] body) {
        if (body.length == 0) throw ApiException.badRequest(null, "The request body is empty; send a JSON object.");
        JsonNode node;
        try {
            node = mapper.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "We could not parse the JSON body of your request: " + e.getOriginalMessage()
                    + ". Send valid JSON (Content-Type: application/json).");
        } catch (IOException e) {
            throw ApiException.badRequest(null, "Could not read the request body: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw ApiException.badRequest(null, "The request body must be a JSON object.");
        return node;
    }

    private int sendError(ServerResponse res, ApiException e) {
        if (res.isSent()) return e.status();
        res.status(e.status());
        if (e.retryAfterSeconds() > 0) res.header(HeaderNames.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()));
        if (e.status() == 401) res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        try {
            sendJson(res, e.status(), JsonBodies.errorBody(jsonFactory, e));
        } catch (RuntimeException ignored) {
            // the client is gone; nothing left to tell it
        }
        return e.status();
    }

    private static void sendJson(ServerResponse res, int status, String json) {
        sendJson(res, status, json.getBytes(StandardCharsets.UTF_8));
    }

    private static void sendJson(ServerResponse res, int status, byte[] json) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(json);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }
}
