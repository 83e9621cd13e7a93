package ai.armature.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.Usage;

/**
 * A worker for router tests: records what it is sent and cancelled, refuses like a dead worker or a full queue when
 * told to, and lets the test push each request's outputs.
 */
final class FakeWorker implements GenerationEngine {

    final String id;
    volatile boolean dead;
    volatile boolean full;
    volatile int running;
    final List<String> submitted = new ArrayList<>();
    final List<String> cancelled = new ArrayList<>();
    final Map<String, LinkedBlockingQueue<Object>> streams = new ConcurrentHashMap<>();
    boolean closed;

    FakeWorker(String id) {
        this.id = id;
    }

    @Override
    public synchronized GenerationStream submit(GenerateRequest request) {
        if (dead) throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "worker " + id + " is shutting down");
        if (full) throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL, "worker " + id + " is full");
        submitted.add(request.requestId());
        LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
        streams.put(request.requestId(), q);
        return new GenerationStream() {
            public String requestId() {
                return request.requestId();
            }

            public GenerateOutput next() throws InterruptedException {
                Object o = q.take();
                if (o instanceof RuntimeException e) throw e;
                return (GenerateOutput) o;
            }

            public void close() {
            }
        };
    }

    /** Pushes an output for a request: {@code tokens} new tokens, finished when {@code reason} is set. */
    void emit(String requestId, int tokens, FinishReason reason, int prompt, int cached) {
        streams.get(requestId).add(new GenerateOutput(requestId, new int[tokens], null, reason, new Usage(prompt, cached, tokens), null));
    }

    /** Makes the request's next read throw (a lost worker). */
    void fail(String requestId, RuntimeException e) {
        streams.get(requestId).add(e);
    }

    @Override
    public synchronized void cancel(String requestId) {
        cancelled.add(requestId);
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(0, running, 10, 0, 0, 0, 0);
    }

    @Override
    public boolean healthy() {
        return !dead;
    }

    @Override
    public int maxContextTokens() {
        return 100;
    }

    @Override
    public void close() {
        closed = true;
        streams.values().forEach(q -> q.add(new GenerateOutput("x", new int[0], null, FinishReason.ERROR, new Usage(0, 0, 0), "closed")));
    }
}
