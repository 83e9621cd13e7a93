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
import java.io.OutputStream;
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
    private static final io.helidon.http.HeaderName X_API_KEY = HeaderNames.create("x-api-key");

    private final FrontendConfig config;
    private final ServedModels models;
    /** One generation handler per served model (its tokenizer, template and engine), made on first use. */
    private final java.util.concurrent.ConcurrentHashMap<ServedModels.ServedModel, GenerationHandler> handlers =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** Strict about what OpenAI's parser refuses too: a key given twice is an error, not "the last one wins". */
    private final ObjectMapper mapper = new ObjectMapper(JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
    private final JsonFactory jsonFactory = mapper.getFactory();
    private final Admission admission;
    private final FrontendMetrics metrics;
    private final byte[][] apiKeyDigests;
    private final long createdEpochSeconds = System.currentTimeMillis() / 1000;
    private final Cors cors;
    private final ThroughputLog throughput;
    private final ResponsesStore responsesStore;
    private volatile WebServer server;
    private volatile ConnectionGuard guard;
    private Thread sweeper;
    private Thread statsLogger;
    private volatile boolean ready;
    private volatile boolean closed;

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
        this.cors = config.allowedOrigins().isEmpty() ? null : new Cors(config.allowedOrigins());
        this.throughput = new ThroughputLog(this::engineStats, System::nanoTime);
        this.responsesStore = new ResponsesStore(config.apis().responsesStoreSize());
    }

    private ai.armature.protocol.EngineStats engineStats() {
        List<ai.armature.protocol.EngineStats> parts = new java.util.ArrayList<>();
        for (ServedModels.ServedModel m : models.listed()) parts.add(m.engine().stats());
        return ai.armature.protocol.EngineStats.sum(parts);
    }

    private GenerationHandler handler(ServedModels.ServedModel m) {
        return handlers.computeIfAbsent(m, k -> new GenerationHandler(
                config.withServedModelName(k.name()).withMaxContextTokens(k.contextTokens()), k.engine(), k.tokenizer(),
                new PromptBuilder(k.tokenizer(), k.chatTemplate(), mapper), admission, metrics, jsonFactory, throughput,
                OutputParsing.of(config.apis(), k.tokenizer(), k.chatTemplate())));
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
        checkBindable();
        ConnectionGuard g = new ConnectionGuard(config.headerTimeout(), System::nanoTime, metrics, JsonBodies.errorBody(jsonFactory,
                ApiException.badRequest(null, "The request is not HTTP: send an HTTP/1.1 (or 1.0 or 2) request.")));
        guard = g;
        // Helidon's own limits where it has them: open connections (more wait to be accepted) and idle keep-alive
        // connections; the guard adds what it lacks (see ConnectionGuard).
        server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownGracePeriod(Duration.ofMillis(500))
                .maxTcpConnections(config.maxConnections())
                .idleConnectionTimeout(config.idleTimeout())
                .idleConnectionPeriod(min(config.idleTimeout().dividedBy(4), Duration.ofSeconds(5)))
                .connectionOptions(g.socketOptions())
                .addConnectionSelectors(List.of(g))
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
        sweeper = g.startSweeper(min(config.headerTimeout().dividedBy(4), Duration.ofSeconds(1)), () -> !closed);
        if (!config.statsLogInterval().isZero()) statsLogger = throughput.start(config.statsLogInterval().toMillis());
        ready = true;
        return server.port();
    }

    private static Duration min(Duration a, Duration b) {
        Duration m = a.compareTo(b) <= 0 ? a : b;
        return m.compareTo(Duration.ofMillis(50)) < 0 ? Duration.ofMillis(50) : m;
    }

    /**
     * Fails with one clear line when the address cannot be bound, before Helidon tries (and logs two SEVERE stack
     * traces doing so).
     */
    private void checkBindable() {
        if (config.port() == 0) return;
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(config.host(), config.port()));
        } catch (java.net.BindException e) {
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": "
                    + (e.getMessage() != null && e.getMessage().contains("in use") ? "the address is already in use (another server?)"
                    : "the address is not available on this machine") + "; pick another --port or --host");
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage());
        }
    }

    /** What the throughput line counts (tests read its totals; the logger thread logs its lines). */
    ThroughputLog throughputLog() {
        return throughput;
    }

    /** Closes connections past their deadline as if {@code nowNanos} had come (tests move time this way). */
    void sweepConnections(long nowNanos) {
        ConnectionGuard g = guard;
        if (g != null) g.sweep(nowNanos);
    }

    /** Waits until {@code n} more connections than {@code before} have been accepted (tests). */
    void awaitConnections(int before, int n) throws InterruptedException {
        guard.awaitAccepted(before + n);
    }

    /** Connections accepted so far (tests). */
    int acceptedConnections() {
        return guard.accepted();
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
        if (sweeper != null) sweeper.interrupt();
        if (statsLogger != null) statsLogger.interrupt();
        if (server != null) server.stop();
    }

    // ---- routing ----

    /** The methods each path answers (for 405, OPTIONS and Allow); GET paths answer HEAD too. */
    private static final java.util.Map<String, String> ALLOW = java.util.Map.ofEntries(
            java.util.Map.entry(Endpoint.CHAT.path, "POST, OPTIONS"),
            java.util.Map.entry(Endpoint.COMPLETIONS.path, "POST, OPTIONS"),
            java.util.Map.entry("/v1/responses", "POST, OPTIONS"),
            java.util.Map.entry("/v1/responses/*", "GET, HEAD, DELETE, OPTIONS"),
            java.util.Map.entry("/v1/messages", "POST, OPTIONS"),
            java.util.Map.entry("/v1/embeddings", "POST, OPTIONS"),
            java.util.Map.entry("/tokenize", "POST, OPTIONS"),
            java.util.Map.entry("/detokenize", "POST, OPTIONS"),
            java.util.Map.entry("/v1/models", "GET, HEAD, OPTIONS"),
            java.util.Map.entry("/health", "GET, HEAD, OPTIONS"),
            java.util.Map.entry("/live", "GET, HEAD, OPTIONS"),
            java.util.Map.entry("/metrics", "GET, HEAD, OPTIONS"));

    private static String allowed(String path) {
        if (path.startsWith("/v1/models/")) return ALLOW.get("/v1/models");
        if (path.startsWith("/v1/responses/")) return ALLOW.get("/v1/responses/*");
        return ALLOW.get(path);
    }

    private void routes(HttpRouting.Builder r) {
        r.addFilter(this::wire)
                .post("/v1/embeddings", this::embeddings)
                .post(Endpoint.CHAT.path, (req, res) -> generate(Endpoint.CHAT, req, res))
                .post(Endpoint.COMPLETIONS.path, (req, res) -> generate(Endpoint.COMPLETIONS, req, res))
                .post("/v1/messages", (req, res) -> generationApi("/v1/messages", req, res, true,
                        (m, body, start, client) -> new MessagesHandler(handler(m), jsonFactory, m.name()).serve(body, res, start, client)))
                .post("/v1/responses", (req, res) -> generationApi("/v1/responses", req, res, false,
                        (m, body, start, client) -> new ResponsesHandler(handler(m), m.name(), responsesStore).serve(body, res, start, client)))
                .delete("/v1/responses/*", (req, res) -> guarded("/v1/responses", req, res, () -> storedResponse(req, res, true)))
                .post("/tokenize", (req, res) -> tokens(req, res, true))
                .post("/detokenize", (req, res) -> tokens(req, res, false));
        getAndHead(r, "/v1/responses/*", (req, res) -> guarded("/v1/responses", req, res, () -> storedResponse(req, res, false)));
        getAndHead(r, "/v1/models", (req, res) -> guarded("/v1/models", req, res, () -> models(req, res, null)));
        getAndHead(r, "/v1/models/*", (req, res) -> guarded("/v1/models", req, res,
                () -> models(req, res, req.path().path().substring("/v1/models/".length()))));
        getAndHead(r, "/health", this::health);
        getAndHead(r, "/live", (req, res) -> reply(req, res, 200, "application/json", "{\"status\":\"alive\"}".getBytes(StandardCharsets.UTF_8)));
        getAndHead(r, "/metrics", this::metrics);
        r.any((req, res) -> guarded("other", req, res, () -> unrouted(req, res)));
    }

    private static void getAndHead(HttpRouting.Builder r, String path, io.helidon.webserver.http.Handler handler) {
        r.get(path, handler).head(path, handler);
    }

    /**
     * What every request passes through: CORS (preflights answered here, allowed origins get their header), and
     * {@code Connection: close} honoured once the response is out (Helidon 4.5 answers with that header but keeps
     * reading the socket, so a client waiting for the end of the stream would hang; closing the connection is the
     * connection's business, hence an exception Helidon's connection loop ends on).
     */
    private void wire(io.helidon.webserver.http.FilterChain chain, io.helidon.webserver.http.RoutingRequest req,
                      io.helidon.webserver.http.RoutingResponse res) {
        if (cors != null) {
            if (cors.isPreflight(req)) {
                cors.preflight(req, res);
                metrics.request("preflight", res.status().code());
                return;
            }
            cors.decorate(req, res);
        }
        chain.proceed();
        if (req.headers().contains(io.helidon.http.HeaderValues.CONNECTION_CLOSE)) {
            throw new io.helidon.webserver.CloseConnectionException("the client asked to close the connection");
        }
    }

    /** OPTIONS on a known path (204 with what it allows), another method on one (405), or an unknown path (404). */
    private void unrouted(ServerRequest req, ServerResponse res) {
        String path = req.path().path();
        String method = req.prologue().method().text();
        String allow = allowed(path);
        if (allow == null && !(method.equals("OPTIONS") && path.equals("*"))) {
            throw ApiException.notFound(null, "unknown_url", "Unknown request URL: " + method + " " + path
                    + ". Please check the URL for typos, or see the API reference.");
        }
        if (method.equals("OPTIONS")) {
            res.status(204);
            res.header(HeaderNames.ALLOW, allow == null ? "GET, HEAD, POST, OPTIONS" : allow);
            res.send();
            return;
        }
        res.header(HeaderNames.ALLOW, allow);
        throw new ApiException(405, "invalid_request_error", null, "method_not_allowed", method + " is not allowed on " + path
                + "; it takes " + allow.replace(", OPTIONS", ""), 0);
    }

    private void generate(Endpoint endpoint, ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        int status;
        try {
            admission.checkOpen();
            authorize(req);
            JsonNode body = parse(readBody(req));
            status = handler(modelOf(body)).serve(endpoint, body, res, start, clientOf(req));
        } catch (ApiException e) {
            status = sendError(res, e);
        } catch (ClientGone e) {
            status = GenerationHandler.CLIENT_CLOSED;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Unexpected failure serving " + endpoint.path, e);
            status = sendError(res, ApiException.internal("internal error: " + e));
        }
        metrics.request(endpoint.path, status);
        if (status == GenerationHandler.CLIENT_CLOSED) hangUp(res);
    }

    /**
     * Ends a request whose client is gone: there is no one to answer, so the connection is closed (what Helidon's
     * connection loop does, quietly, on this exception) rather than a response sent into the void.
     */
    private static void hangUp(ServerResponse res) {
        if (!res.isSent()) throw new io.helidon.webserver.CloseConnectionException("the client hung up");
    }

    /** One call of a generation API that writes its own wire format, for the model the body names. */
    private interface ApiCall {
        int serve(ServedModels.ServedModel model, JsonNode body, long startNanos, GuardedSocket client) throws InterruptedException;
    }

    /**
     * Serves a generation API other than chat and completions (Responses, Anthropic Messages): admission,
     * authentication, the body, the model, then {@code call}; errors go out in the API's own shape.
     */
    private void generationApi(String path, ServerRequest req, ServerResponse res, boolean anthropicErrors, ApiCall call) {
        long start = System.nanoTime();
        java.util.function.Function<ApiException, byte[]> errorBody = anthropicErrors
                ? e -> MessagesHandler.errorBody(jsonFactory, e) : e -> JsonBodies.errorBody(jsonFactory, e);
        int status;
        try {
            admission.checkOpen();
            authorize(req);
            JsonNode body = parse(readBody(req));
            status = call.serve(modelOf(body), body, start, clientOf(req));
        } catch (ApiException e) {
            status = sendError(res, e, errorBody.apply(e));
        } catch (ClientGone | GenerationHandler.ClientGoneException e) {
            status = GenerationHandler.CLIENT_CLOSED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ApiException u = ApiException.unavailable("the request was interrupted because the server is shutting down");
            status = sendError(res, u, errorBody.apply(u));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Unexpected failure serving " + path, e);
            ApiException i = ApiException.internal("internal error: " + e);
            status = sendError(res, i, errorBody.apply(i));
        }
        metrics.request(path, status);
        if (status == GenerationHandler.CLIENT_CLOSED) hangUp(res);
    }

    /** GET (HEAD) or DELETE /v1/responses/{id}: a stored response. */
    private void storedResponse(ServerRequest req, ServerResponse res, boolean delete) {
        String id = req.path().path().substring("/v1/responses/".length());
        ResponsesStore.Stored stored = responsesStore.get(id);
        if (stored == null) {
            throw ApiException.notFound("response_id", "response_not_found", "No response with id '" + id + "' is stored on this server");
        }
        if (delete) {
            responsesStore.remove(id);
            sendJson(res, 200, mapper.createObjectNode().put("id", id).put("object", "response").put("deleted", true).toString());
        } else {
            reply(req, res, 200, "application/json", stored.body());
        }
    }

    /** POST /tokenize and /detokenize, in vLLM's shapes, for the model the request names. */
    private void tokens(ServerRequest req, ServerResponse res, boolean tokenize) {
        int status = 200;
        try {
            authorize(req);
            JsonNode body = parse(readBody(req));
            ServedModels.ServedModel m = modelOf(body);
            GenerationHandler h = handler(m);
            TokenizeHandler t = new TokenizeHandler(m.tokenizer(), h.prompts(), h.contextTokens(), jsonFactory);
            sendJson(res, 200, tokenize ? t.tokenize(body) : t.detokenize(body));
        } catch (ApiException e) {
            status = sendError(res, e);
        } catch (ClientGone e) {
            status = GenerationHandler.CLIENT_CLOSED;
        }
        metrics.request(tokenize ? "/tokenize" : "/detokenize", status);
        if (status == GenerationHandler.CLIENT_CLOSED) hangUp(res);
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
        } catch (ClientGone e) {
            status = GenerationHandler.CLIENT_CLOSED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = sendError(res, ApiException.unavailable("the request was interrupted because the server is shutting down"));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Unexpected failure serving /v1/embeddings", e);
            status = sendError(res, ApiException.internal("internal error: " + e));
        }
        metrics.request("/v1/embeddings", status);
        if (status == GenerationHandler.CLIENT_CLOSED) hangUp(res);
    }

    /** Runs a non-generation API handler with authentication and uniform error handling. */
    private void guarded(String metricName, ServerRequest req, ServerResponse res, Runnable action) {
        int status = 200;
        try {
            authorize(req);
            action.run();
        } catch (ApiException e) {
            status = sendError(req, res, e);
        }
        metrics.request(metricName, status);
    }

    private void models(ServerRequest req, ServerResponse res, String id) {
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
            reply(req, res, 200, "application/json", out.toByteArray());
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
        String status;
        int code;
        if (ready() && models.listed().stream().noneMatch(m -> m.engine().healthy())) {
            code = 503;
            status = "engine unavailable";
        } else if (ready()) {
            code = 200;
            status = "ready";
        } else {
            code = 503;
            status = admission.draining() ? "draining" : "starting";
        }
        reply(req, res, code, "application/json", ("{\"status\":\"" + status + "\"}").getBytes(StandardCharsets.UTF_8));
    }

    private void metrics(ServerRequest req, ServerResponse res) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        metrics.write(out);
        reply(req, res, 200, metrics.contentType(), out.toByteArray());
    }

    /** Sends a body, or for HEAD only its headers (the length it would have). */
    private static void reply(ServerRequest req, ServerResponse res, int status, String contentType, byte[] body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, contentType);
        if (req.prologue().method() == io.helidon.http.Method.HEAD) {
            res.header(HeaderNames.CONTENT_LENGTH, Integer.toString(body.length));
            res.send(new byte[0]);
        } else {
            res.send(body);
        }
    }

    // ---- request plumbing ----

    /** Checks the API key: {@code Authorization: Bearer KEY} (OpenAI clients) or {@code x-api-key: KEY} (Anthropic's). */
    private void authorize(ServerRequest req) {
        if (apiKeyDigests.length == 0) return;
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        String anthropic = req.headers().first(X_API_KEY).orElse(null);
        if (header == null && anthropic == null) {
            throw ApiException.unauthorized("You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY' "
                    + "(or as x-api-key: YOUR_KEY).");
        }
        if (header != null && !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiException.unauthorized("The Authorization header must be 'Bearer YOUR_KEY'.");
        }
        byte[] given = sha256(header != null ? header.substring(7).trim() : anthropic.trim());
        boolean ok = false;
        for (byte[] key : apiKeyDigests) ok |= MessageDigest.isEqual(key, given); // constant time, no early exit
        if (!ok) throw ApiException.unauthorized("Incorrect API key provided.");
    }

    /** The connection a request came on, for noticing that its client hung up (null where that is not tracked). */
    private GuardedSocket clientOf(ServerRequest req) {
        ConnectionGuard g = guard;
        return g == null ? null : g.socket(req.socketId());
    }

    /** The client hung up before its request was read: nothing can be answered. */
    private static final class ClientGone extends RuntimeException {
        ClientGone(String message) {
            super(message, null, false, false);
        }
    }

    private byte[] readBody(ServerRequest req) {
        long limit = config.maxBodyBytes();
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw ApiException.tooLarge("The request body is " + declared.getAsLong() + " bytes; the limit is " + limit + " bytes.");
        }
        GuardedSocket client = clientOf(req);
        long[] read = {0};
        try (InputStream in = req.content().inputStream()) {
            byte[] body = readCounting(in, (int) Math.min(Integer.MAX_VALUE - 8, limit + 1), read);
            if (client != null) client.bodyRead();
            if (body.length > limit) {
                throw ApiException.tooLarge("The request body is larger than the limit of " + limit + " bytes.");
            }
            return body;
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiException a) throw a;
            // A body that stops short is the client's failure (it hung up, or was closed for stalling): a 499, one
            // line, no trace. Anything else about the bytes is a bad request.
            if (client == null || client.gone() || e instanceof io.helidon.common.buffers.DataReader.InsufficientDataAvailableException) {
                LOG.log(System.Logger.Level.WARNING, "client " + req.remotePeer().host() + " hung up while sending the request body ("
                        + read[0] + (declared.isPresent() ? " of " + declared.getAsLong() : "") + " bytes)");
                throw new ClientGone("client hung up mid-upload");
            }
            throw ApiException.badRequest(null, "Could not read the request body: " + e.getMessage());
        }
    }

    /** Reads up to {@code max} bytes, counting into {@code read[0]} as it goes (so a failure can say how far it got). */
    private static byte[] readCounting(InputStream in, int max, long[] read) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(Math.min(max, 8192));
        byte[] buf = new byte[8192];
        int n;
        while (out.size() < max && (n = in.read(buf, 0, Math.min(buf.length, max - out.size()))) > 0) {
            out.write(buf, 0, n);
            read[0] += n;
        }
        return out.toByteArray();
    }

    private JsonNode parse(byte[] body) {
        if (body.length == 0) throw ApiException.badRequest(null, "The request body is empty; send a JSON object.");
        JsonNode node;
        try (com.fasterxml.jackson.core.JsonParser parser = mapper.createParser(body)) {
            node = mapper.readTree(parser);
            boolean trailing;
            try {
                trailing = parser.nextToken() != null;
            } catch (JsonProcessingException e) {
                trailing = true;
            }
            if (trailing) {
                throw ApiException.badRequest(null, "The request body has trailing data after its JSON object (at byte "
                        + parser.currentLocation().getByteOffset() + "); send exactly one JSON object.");
            }
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "We could not parse the JSON body of your request: " + e.getOriginalMessage()
                    + ". Send valid JSON (Content-Type: application/json).");
        } catch (IOException e) {
            throw ApiException.badRequest(null, "Could not read the request body: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw ApiException.badRequest(null, "The request body must be a JSON object.");
        return node;
    }

    /** An error answer; for HEAD only its headers. */
    private int sendError(ServerRequest req, ServerResponse res, ApiException e) {
        if (req.prologue().method() != io.helidon.http.Method.HEAD) return sendError(res, e);
        if (res.isSent()) return e.status();
        if (e.status() == 401) res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        reply(req, res, e.status(), "application/json", JsonBodies.errorBody(jsonFactory, e));
        return e.status();
    }

    private int sendError(ServerResponse res, ApiException e) {
        return sendError(res, e, JsonBodies.errorBody(jsonFactory, e));
    }

    /** An error answer with the given body (another API's error shape). */
    private int sendError(ServerResponse res, ApiException e, byte[] body) {
        if (res.isSent()) return e.status();
        res.status(e.status());
        if (e.retryAfterSeconds() > 0) res.header(HeaderNames.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()));
        if (e.status() == 401) res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        try {
            sendJson(res, e.status(), body);
        } catch (RuntimeException ignored) {
            // the client is gone; nothing left to tell it
        }
        return e.status();
    }

    private static void sendJson(ServerResponse res, int status, String json) {
        sendJson(res, status, json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Starts a 200 server-sent-event stream and returns its body: not cached, and not buffered by proxies
     * (nginx's X-Accel-Buffering), so each event reaches the client as it is written.
     */
    static OutputStream startEventStream(ServerResponse res) {
        res.status(200);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.header("X-Accel-Buffering", "no");
        return res.outputStream();
    }

    /** Sends a whole JSON body with {@code status}. */
    static void sendJson(ServerResponse res, int status, byte[] json) {
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
