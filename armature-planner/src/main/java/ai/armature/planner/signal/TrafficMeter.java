package ai.armature.planner.signal;

import java.util.Objects;
import java.util.function.LongSupplier;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.TrafficCounters;

/**
 * A worker's engine with its traffic counted: every accepted request, its first token (time from submission, prompt
 * tokens and prefix-cache hits), its end (tokens generated here, errors) and its decode pace, as
 * {@link TrafficCounters} that only grow, with the engine's busy time from its stats. Times come from {@code clock} (wall-clock nanoseconds, or virtual time in
 * a simulation) when the consumer reads each output, which is when the worker produced it for a consumer that
 * reads as soon as outputs arrive (the request plane, the simulator). Thread-safe.
 */
public final class TrafficMeter implements GenerationEngine {

    private final GenerationEngine inner;
    private final LongSupplier clock;
    private final Object lock = new Object();
    private long requests, promptTokens, firstTokens, firstTokenPromptTokens, cachedPromptTokens, finished, failed, outputTokens,
            decodedRequests, decodeIntervals, maxPromptTokens;
    private double promptTokensSquared, outputTokensSquared, ttftSeconds, decodeSeconds;
    private final long[] ttftHistogram = new long[TrafficCounters.BUCKET_BOUNDS.length + 1];
    private final long[] itlHistogram = new long[TrafficCounters.BUCKET_BOUNDS.length + 1];

    public TrafficMeter(GenerationEngine inner, LongSupplier clockNanos) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.clock = Objects.requireNonNull(clockNanos, "clock");
    }

    /** The engine being metered. */
    public GenerationEngine inner() {
        return inner;
    }

    /** The counts so far, with the engine's busy time as its stats report it (0 if it does not). */
    public TrafficCounters snapshot() {
        EngineStats engine = inner.stats();
        synchronized (lock) {
            return new TrafficCounters(requests, promptTokens, promptTokensSquared, firstTokens, firstTokenPromptTokens, cachedPromptTokens,
                    ttftSeconds, ttftHistogram, finished, failed, outputTokens, outputTokensSquared, decodedRequests, decodeIntervals, decodeSeconds,
                    itlHistogram, engine.busySeconds(), engine.promptStepSeconds(), engine.promptTokensComputed(), maxPromptTokens);
        }
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        long start = clock.getAsLong();
        GenerationStream s = inner.submit(request);
        int prompt = request.promptTokens().length;
        synchronized (lock) {
            requests++;
            promptTokens += prompt;
            promptTokensSquared += (double) prompt * prompt;
            maxPromptTokens = Math.max(maxPromptTokens, prompt);
        }
        return new MeteredStream(s, start, prompt);
    }

    @Override
    public void cancel(String requestId) {
        inner.cancel(requestId);
    }

    @Override
    public EngineStats stats() {
        return inner.stats();
    }

    @Override
    public boolean healthy() {
        return inner.healthy();
    }

    @Override
    public int maxContextTokens() {
        return inner.maxContextTokens();
    }

    @Override
    public void close() {
        inner.close();
    }

    private void firstToken(long start, long now, int prompt, int cached) {
        double ttft = (now - start) / 1e9;
        synchronized (lock) {
            firstTokens++;
            firstTokenPromptTokens += prompt;
            cachedPromptTokens += cached;
            ttftSeconds += ttft;
            ttftHistogram[TrafficCounters.bucketOf(ttft)]++;
        }
    }

    private void ended(boolean error, long tokens, long firstAt, long lastAt) {
        synchronized (lock) {
            finished++;
            if (error) failed++;
            outputTokens += tokens;
            outputTokensSquared += (double) tokens * tokens;
            if (tokens >= 2) {
                double span = (lastAt - firstAt) / 1e9;
                decodedRequests++;
                decodeIntervals += tokens - 1;
                decodeSeconds += span;
                itlHistogram[TrafficCounters.bucketOf(span / (tokens - 1))]++;
            }
        }
    }

    /** Follows one request: first token, token count and times, end. One consumer. */
    private final class MeteredStream implements GenerationStream {
        private final GenerationStream inner;
        private final long start;
        private final int prompt;
        private long tokens, firstAt, lastAt;
        private boolean ended;

        MeteredStream(GenerationStream inner, long start, int prompt) {
            this.inner = inner;
            this.start = start;
            this.prompt = prompt;
        }

        @Override
        public String requestId() {
            return inner.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            GenerateOutput out;
            try {
                out = inner.next();
            } catch (RuntimeException e) {
                end(true);
                throw e;
            }
            if (out == null) {
                end(false);
                return null;
            }
            int n = out.tokenIds().length;
            if (n > 0) {
                long now = clock.getAsLong();
                if (tokens == 0) {
                    firstAt = now;
                    firstToken(start, now, prompt, out.usage() == null ? 0 : out.usage().cachedPromptTokens());
                }
                tokens += n;
                lastAt = now;
            }
            if (out.finished()) end(out.finishReason() == FinishReason.ERROR);
            return out;
        }

        @Override
        public void close() {
            try {
                inner.close();
            } finally {
                end(false);
            }
        }

        private void end(boolean error) {
            if (ended) return;
            ended = true;
            ended(error, tokens, firstAt, lastAt);
        }
    }
}
