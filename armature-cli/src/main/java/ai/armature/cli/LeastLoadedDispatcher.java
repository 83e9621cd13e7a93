package ai.armature.cli;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;

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

    /**
     * Sends the request to the least-loaded worker. A worker that refuses because it is shutting down (its engine
     * thread died) is skipped and the next least-loaded one tried, so one dead worker cannot absorb all traffic.
     */
    @Override
    public GenerationStream submit(GenerateRequest request) {
        List<GenerationEngine> candidates = new ArrayList<>(workers);
        RequestRejectedException last = null;
        while (!candidates.isEmpty()) {
            GenerationEngine target = leastLoaded(candidates);
            // Registered before submitting, so a cancel racing with the submit still finds the owner.
            owners.put(request.requestId(), target);
            try {
                return new Tracked(target.submit(request));
            } catch (RequestRejectedException e) {
                owners.remove(request.requestId());
                if (e.reason() != RequestRejectedException.Reason.SHUTTING_DOWN) throw e;
                last = e;
                candidates.remove(target);
            } catch (RuntimeException e) {
                owners.remove(request.requestId());
                throw e;
            }
        }
        throw last;
    }

    private static GenerationEngine leastLoaded(List<GenerationEngine> candidates) {
        GenerationEngine target = candidates.getFirst();
        int best = Integer.MAX_VALUE;
        for (GenerationEngine w : candidates) {
            EngineStats s = w.stats();
            int load = s.waitingRequests() + s.runningRequests();
            if (load < best) {
                best = load;
                target = w;
            }
        }
        return target;
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

    /** Healthy while at least one worker is. */
    @Override
    public boolean healthy() {
        for (GenerationEngine w : workers) if (w.healthy()) return true;
        return false;
    }

    @Override
    public int maxContextTokens() {
        int min = Integer.MAX_VALUE;
        for (GenerationEngine w : workers) min = Math.min(min, w.maxContextTokens());
        return min;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (GenerationEngine w : workers) {
            try {
                w.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
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
