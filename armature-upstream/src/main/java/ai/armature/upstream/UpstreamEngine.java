package ai.armature.upstream;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.RequestRejectedException.Reason;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * An external OpenAI-compatible engine (vLLM, SGLang, llama-server, any OpenAI server) as an Armature
 * {@link GenerationEngine}: tokens cross the seam both ways (the prompt goes up as token ids, generated ids come
 * back, see {@link TokenIdSource}), sampling parameters and seeds pass through, and stop strings, templates, parsers
 * and usage stay in Armature's frontend. Cancelling a request (or closing its stream) closes its upstream
 * connection, which is how these servers learn to abort it and free its KV cache.
 *
 * <p>Health: a virtual thread asks the upstream every {@code healthInterval} ({@code GET /health}; a generic OpenAI
 * server {@code GET /v1/models}), allowing {@link #HEALTH_TIMEOUT} for an answer. A busy server may answer its health
 * endpoint late (llama-server queues it behind a long prompt), so a stream that received data within the last
 * interval counts as an answer, and so does a check that timed out while requests are in flight, for up to
 * {@link #BUSY_GRACE} since the upstream last showed it was alive (a refused connection or an error status is never
 * "busy"). Until it first answers, and after {@code healthFailures} failed checks in a row, the
 * engine is unhealthy: it refuses new requests (SHUTTING_DOWN, so a router tries another worker) and tells its
 * {@link Listener}, which deregisters it; a stream in flight that has received nothing for {@link #STALL_TIMEOUT}
 * meanwhile is failed with {@code WorkerLostException} (so a migrating engine resumes it elsewhere; a killed server
 * breaks its connections at once anyway). When the upstream answers again it is probed afresh (it may have restarted
 * with another model or context) and registered again. A broken connection triggers a check at once.
 *
 * <p>Thread-safe. Streams are read on the caller's thread; cancel and health transitions act from others.
 */
public final class UpstreamEngine implements GenerationEngine {

    private static final Logger LOG = Logger.getLogger(UpstreamEngine.class.getName());

    /** Health transitions, called on the health thread. */
    public interface Listener {
        /** The upstream answers (first time, or again after being unhealthy); {@link #info()} is current. */
        void healthy(UpstreamEngine engine);

        /** The upstream stopped answering; new requests are refused and those in flight were failed. */
        void unhealthy(UpstreamEngine engine, String reason);

        Listener NONE = new Listener() {
            @Override
            public void healthy(UpstreamEngine engine) {
            }

            @Override
            public void unhealthy(UpstreamEngine engine, String reason) {
            }
        };
    }

    private enum State { STARTING, HEALTHY, UNHEALTHY }

    /** How long a health check may take. */
    static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(5);
    /** While the upstream is unhealthy, a stream silent this long is presumed lost. */
    static final Duration STALL_TIMEOUT = Duration.ofSeconds(10);
    /** How long a health check that times out with requests in flight is taken for a busy upstream rather than a dead one. */
    static final Duration BUSY_GRACE = Duration.ofSeconds(60);

    private final UpstreamConfig config;
    private final UpstreamHttp http;
    private final Map<String, UpstreamStream> streams = new ConcurrentHashMap<>();
    private final Semaphore wake = new Semaphore(0);
    private final CountDownLatch firstHealthy = new CountDownLatch(1);
    private volatile State state = State.STARTING;
    private volatile UpstreamInfo info;
    private volatile boolean closed;
    private volatile String lastProblem = "not reached yet";
    /** When a stream last received data (System.nanoTime), as evidence that the upstream is alive. */
    private volatile long lastActivity = System.nanoTime() - Duration.ofDays(1).toNanos();
    /** When the upstream last answered a check or sent data. */
    private volatile long lastAlive = lastActivity;
    private Thread healthThread;

    public UpstreamEngine(UpstreamConfig config) {
        this.config = config;
        this.http = new UpstreamHttp(config);
    }

    public UpstreamConfig config() {
        return config;
    }

    public String workerId() {
        return config.workerId();
    }

    /** What the upstream reported when last reached (null before). */
    public UpstreamInfo info() {
        return info;
    }

    /** Why the upstream is not healthy (the last failed check or probe). */
    public String lastProblem() {
        return lastProblem;
    }

    /** Starts health checking, reporting transitions to {@code listener}. */
    public synchronized void start(Listener listener) {
        if (healthThread != null) throw new IllegalStateException("already started");
        healthThread = Thread.ofVirtual().name("armature-upstream-health-" + config.workerId()).start(() -> healthLoop(listener));
    }

    /** Waits until the upstream has answered once; returns false on timeout. */
    public boolean awaitHealthy(Duration timeout) throws InterruptedException {
        return firstHealthy.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void healthLoop(Listener listener) {
        int failures = 0;
        boolean waitingLogged = false;
        while (!closed) {
            String problem = check();
            if (closed) return;
            if (problem == null) {
                failures = 0;
                if (state != State.HEALTHY) {
                    boolean again = state == State.UNHEALTHY;
                    state = State.HEALTHY;
                    UpstreamInfo i = info;
                    LOG.info("upstream " + config.workerId() + " (" + config.baseUrl() + ") is " + (again ? "back" : "up") + ": model '"
                            + i.upstreamModel() + "', context " + i.contextLength() + " tokens, token ids from " + i.tokenIds());
                    firstHealthy.countDown();
                    listener.healthy(this);
                }
            } else if (state == State.HEALTHY && (System.nanoTime() - lastActivity < config.healthInterval().toNanos()
                    || problem.equals(TIMED_OUT) && !streams.isEmpty() && System.nanoTime() - Math.max(lastAlive, lastActivity) < BUSY_GRACE.toNanos())) {
                failures = 0; // busy, not dead: its streams are flowing, or it is working on the ones in flight
            } else {
                lastProblem = problem;
                failures++;
                if (state == State.UNHEALTHY) failStalled("upstream " + config.workerId() + " is unhealthy: " + problem);
                if (state == State.HEALTHY && failures >= config.healthFailures()) {
                    state = State.UNHEALTHY;
                    LOG.warning("upstream " + config.workerId() + " (" + config.baseUrl() + ") is unhealthy: " + problem
                            + "; deregistered until it answers again");
                    info = null;
                    listener.unhealthy(this, problem);
                    failStalled("upstream " + config.workerId() + " became unhealthy: " + problem);
                } else if (state == State.STARTING && !waitingLogged) {
                    waitingLogged = true;
                    LOG.info("waiting for upstream " + config.workerId() + " at " + config.baseUrl() + ": " + problem);
                }
            }
            try {
                if (wake.tryAcquire(config.healthInterval().toMillis(), TimeUnit.MILLISECONDS)) wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One check: its health endpoint, then, while the upstream's info is unknown, a probe. Null when healthy. */
    private String check() {
        try {
            String path = config.kind() == UpstreamKind.OPENAI ? "/v1/models" : "/health";
            int status = http.status(path, HEALTH_TIMEOUT);
            if (status != 200) return "GET " + path + " answered " + status;
            if (info == null || state != State.HEALTHY) info = UpstreamProbe.probe(http, config);
            lastAlive = System.nanoTime();
            return null;
        } catch (java.net.http.HttpTimeoutException e) {
            return TIMED_OUT;
        } catch (IOException e) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    private static final String TIMED_OUT = "its health check timed out";

    /** A stream broke: check the upstream now rather than at the next interval. */
    void suspect() {
        wake.release();
    }

    /** Fails the streams that received nothing for {@link #STALL_TIMEOUT} (the others are still being answered). */
    private void failStalled(String reason) {
        long cutoff = System.nanoTime() - STALL_TIMEOUT.toNanos();
        for (UpstreamStream s : streams.values()) if (s.lastActivity() < cutoff) s.lose(reason);
    }

    /** A stream received data now. */
    void activity() {
        lastActivity = System.nanoTime();
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        UpstreamInfo i = info;
        if (closed) throw new RequestRejectedException(Reason.SHUTTING_DOWN, "upstream worker " + config.workerId() + " is closed");
        if (state != State.HEALTHY || i == null) {
            throw new RequestRejectedException(Reason.SHUTTING_DOWN, "upstream " + config.workerId() + " is not available (" + lastProblem + ")");
        }
        int total = request.promptTokens().length + request.stop().maxTokens();
        if (request.promptTokens().length >= i.contextLength() || total > i.contextLength()) {
            throw new RequestRejectedException(Reason.PROMPT_TOO_LONG, "the upstream's context is " + i.contextLength() + " tokens; the request needs "
                    + total + " (" + request.promptTokens().length + " prompt + " + request.stop().maxTokens() + " to generate)");
        }
        RequestBodies.Call call = RequestBodies.build(config, i, request);
        HttpResponse<InputStream> response;
        try {
            response = http.stream(call.path(), call.body(), request.requestId());
        } catch (IOException e) {
            suspect();
            throw new RequestRejectedException(Reason.SHUTTING_DOWN, "upstream " + config.workerId() + " is unreachable: "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RequestRejectedException(Reason.SHUTTING_DOWN, "interrupted while submitting to upstream " + config.workerId());
        }
        if (response.statusCode() != 200) throw rejection(response);
        UpstreamStream s = new UpstreamStream(this, request, response.body(), call.nativeLlamaCpp());
        streams.put(request.requestId(), s);
        if (closed || state != State.HEALTHY) s.lose("upstream " + config.workerId() + " became unavailable");
        return s;
    }

    private RequestRejectedException rejection(HttpResponse<InputStream> response) {
        String message;
        try (InputStream in = response.body()) {
            message = UpstreamHttp.errorMessage(in.readNBytes(64 * 1024));
        } catch (IOException e) {
            message = "";
        }
        int status = response.statusCode();
        String text = "upstream " + config.workerId() + " answered " + status + (message.isEmpty() ? "" : ": " + message);
        Reason reason = switch (status) {
            case 429 -> Reason.QUEUE_FULL;
            case 503, 502, 504 -> Reason.SHUTTING_DOWN;
            default -> status >= 500 ? Reason.SHUTTING_DOWN : Reason.INVALID;
        };
        if (status >= 500) suspect();
        return new RequestRejectedException(reason, text);
    }

    void ended(UpstreamStream s) {
        streams.remove(s.requestId(), s);
    }

    @Override
    public void cancel(String requestId) {
        UpstreamStream s = streams.get(requestId);
        if (s != null) s.close();
    }

    /** In-flight requests as running; the KV pool is what the upstream reported (in blocks of the router's size). */
    @Override
    public EngineStats stats() {
        UpstreamInfo i = info;
        long blocks = i == null ? 0 : i.kvCapacityTokens() / config.blockSize();
        return new EngineStats(0, streams.size(), blocks, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public boolean healthy() {
        return !closed && state == State.HEALTHY;
    }

    @Override
    public int maxContextTokens() {
        UpstreamInfo i = info;
        if (i != null) return i.contextLength();
        return config.contextLength() > 0 ? config.contextLength() : Integer.MAX_VALUE;
    }

    /** Requests in flight to this upstream. */
    public int inFlight() {
        return streams.size();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        wake.release();
        Thread t;
        synchronized (this) {
            t = healthThread;
        }
        if (t != null) t.interrupt();
        for (UpstreamStream s : streams.values()) s.close();
        http.close();
    }

    TextEncoder encoder() {
        return config.encoder();
    }
}
