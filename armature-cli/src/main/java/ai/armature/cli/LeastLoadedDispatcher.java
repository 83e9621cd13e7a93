package ai.armature.cli;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Spreads requests over in-process worker replicas: each request goes to the worker with the fewest waiting plus
 * running requests. This is the embedded mode's stand-in for the KV-aware router, behind the same
 * {@link GenerationEngine} seam the frontend uses.
 */
final class LeastLoadedDispatcher implements GenerationEngine {

    private final List<GenerationEngine> workers;
    private final Map<String, GenerationEngine> owners = new ConcurrentHashMap<>();

    LeastLoadedDispatcher(List<? extends GenerationEngine> workers) {
        if (workers.isEmpty()) throw new IllegalArgumentException("at least one worker is needed");
        this.workers = List.copyOf(workers);
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        GenerationEngine target = workers.getFirst();
        int best = Integer.MAX_VALUE;
        for (GenerationEngine w : workers) {
            EngineStats s = w.stats();
            int load = s.waitingRequests() + s.runningRequests();
            if (load < best) {
                best = load;
                target = w;
            }
        }
        GenerationStream stream = target.submit(request);
        owners.put(request.requestId(), target);
        return new Tracked(stream);
    }

    @Override
    public void cancel(String requestId) {
        GenerationEngine owner = owners.get(requestId);
        if (owner != null) owner.cancel(requestId);
    }

    @Override
    public EngineStats stats() {
        List<EngineStats> parts = new ArrayList<>(workers.size());
        for (GenerationEngine w : workers) parts.add(w.stats());
        return EngineStats.sum(parts);
    }

    @Override
    public int maxContextTokens() {
        int min = Integer.MAX_VALUE;
        for (GenerationEngine w : workers) min = Math.min(min, w.maxContextTokens());
        return min;
    }

    @Override
    public void close() {
        for (GenerationEngine w : workers) w.close();
    }

    /** Forgets the request's owner once its stream has ended or been closed. */
    private final class Tracked implements GenerationStream {
        private final GenerationStream inner;

        Tracked(GenerationStream inner) {
            this.inner = inner;
        }

        @Override
        public String requestId() {
            return inner.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            GenerateOutput out = inner.next();
            if (out == null || out.finished()) owners.remove(inner.requestId());
            return out;
        }

        @Override
        public void close() {
            inner.close();
            owners.remove(inner.requestId());
        }
    }
}
