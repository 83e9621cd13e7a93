package ai.armature.planner.signal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.Usage;
import ai.armature.protocol.WorkerLostException;

class TrafficMeterTest {

    /** Scripted outputs; each next() first moves the clock by the step given with the output. */
    static final class Scripted implements GenerationEngine {
        final long[] clock;
        final Map<String, Deque<Object[]>> scripts = new HashMap<>();
        EngineStats stats = new EngineStats(0, 0, 0, 0, 0, 0, 0);

        Scripted(long[] clock) {
            this.clock = clock;
        }

        void script(String id, Object[]... steps) {
            scripts.put(id, new ArrayDeque<>(java.util.List.of(steps)));
        }

        @Override
        public GenerationStream submit(GenerateRequest r) {
            if (r.requestId().equals("refused")) throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL, "full");
            Deque<Object[]> steps = scripts.get(r.requestId());
            return new GenerationStream() {
                @Override
                public String requestId() {
                    return r.requestId();
                }

                @Override
                public GenerateOutput next() {
                    Object[] s = steps.poll();
                    if (s == null) return null;
                    clock[0] += (long) s[0];
                    if (s[1] instanceof RuntimeException e) throw e;
                    return (GenerateOutput) s[1];
                }

                @Override
                public void close() {
                }
            };
        }

        @Override
        public void cancel(String requestId) {
        }

        @Override
        public EngineStats stats() {
            return stats;
        }

        @Override
        public int maxContextTokens() {
            return 4096;
        }

        @Override
        public void close() {
        }
    }

    static GenerateOutput out(String id, int tokens, FinishReason reason, int cached, int total) {
        return new GenerateOutput(id, new int[tokens], null, reason, new Usage(100, cached, total), reason == FinishReason.ERROR ? "boom" : null);
    }

    static GenerateRequest request(String id, int prompt) {
        return new GenerateRequest(id, new int[prompt], SamplingParams.GREEDY, StopConditions.maxTokens(10));
    }

    static void drain(GenerationStream s) throws InterruptedException {
        while (s.next() != null) { }
    }

    @Test
    void countsArrivalsFirstTokensDecodeAndEnds() throws Exception {
        long[] clock = {0};
        Scripted engine = new Scripted(clock);
        TrafficMeter meter = new TrafficMeter(engine, () -> clock[0]);
        long ms = 1_000_000;
        // a: first token after 200 ms (40 of its 100 prompt tokens cached), then 2 + 1 tokens 10 ms apart.
        engine.script("a", new Object[] {200 * ms, out("a", 1, null, 40, 1)}, new Object[] {20 * ms, out("a", 2, null, 40, 3)},
                new Object[] {10 * ms, out("a", 1, FinishReason.LENGTH, 40, 4)});
        // b: one token, then an error.
        engine.script("b", new Object[] {50 * ms, out("b", 1, null, 0, 1)}, new Object[] {5 * ms, out("b", 0, FinishReason.ERROR, 0, 1)});
        // c: the worker is lost before any token.
        engine.script("c", new Object[] {1 * ms, new WorkerLostException("w", "gone", null)});
        drain(meter.submit(request("a", 100)));
        drain(meter.submit(request("b", 300)));
        GenerationStream c = meter.submit(request("c", 50));
        assertThatThrownBy(c::next).isInstanceOf(WorkerLostException.class);
        assertThatThrownBy(() -> meter.submit(request("refused", 10))).isInstanceOf(RequestRejectedException.class);

        TrafficCounters t = meter.snapshot();
        assertThat(t.requests()).as("refused requests are not traffic").isEqualTo(3);
        assertThat(t.promptTokens()).isEqualTo(450);
        assertThat(t.promptTokensSquared()).isEqualTo(100.0 * 100 + 300 * 300 + 50 * 50);
        assertThat(t.firstTokens()).isEqualTo(2);
        assertThat(t.firstTokenPromptTokens()).isEqualTo(400);
        assertThat(t.cachedPromptTokens()).isEqualTo(40);
        assertThat(t.ttftSeconds()).isCloseTo(0.25, within(1e-12));
        assertThat(t.ttftWithin(0.1)).isCloseTo(0.5, within(1e-12));
        assertThat(t.finished()).isEqualTo(3);
        assertThat(t.failed()).isEqualTo(2);
        assertThat(t.outputTokens()).isEqualTo(5);
        // a decoded 3 more tokens over 30 ms: 10 ms each.
        assertThat(t.decodedRequests()).isEqualTo(1);
        assertThat(t.decodeIntervals()).isEqualTo(3);
        assertThat(t.meanItlSeconds()).isCloseTo(0.01, within(1e-12));
        assertThat(t.itlWithin(TrafficCounters.BUCKET_BOUNDS[TrafficCounters.bucketOf(0.01)])).isEqualTo(1);
        assertThat(t.itlWithin(TrafficCounters.BUCKET_BOUNDS[TrafficCounters.bucketOf(0.01) - 1])).isZero();
        assertThat(t.maxPromptTokens()).isEqualTo(300);
        assertThat(t.reportsBusyTime()).as("this engine does not time its steps").isFalse();
        assertThat(t.promptSecondsPerToken()).isNaN();
    }

    @Test
    void theEnginesBusyTimeRidesWithTheCounts() throws Exception {
        long[] clock = {0};
        Scripted engine = new Scripted(clock);
        TrafficMeter meter = new TrafficMeter(engine, () -> clock[0]);
        engine.script("a", new Object[] {1_000_000L, out("a", 1, FinishReason.LENGTH, 0, 1)});
        drain(meter.submit(request("a", 100)));
        engine.stats = new EngineStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 1.5, 0.5, 2000);
        TrafficCounters t = meter.snapshot();
        assertThat(t.busySeconds()).isEqualTo(1.5);
        assertThat(t.promptStepSeconds()).isEqualTo(0.5);
        assertThat(t.promptTokensComputed()).isEqualTo(2000);
        assertThat(t.promptSecondsPerToken()).isEqualTo(0.5 / 2000);
        engine.stats = new EngineStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 2.5, 0.75, 2500);
        TrafficCounters later = meter.snapshot().minus(t);
        assertThat(later.busySeconds()).isEqualTo(1.0);
        assertThat(later.promptStepSeconds()).isEqualTo(0.25);
        assertThat(later.promptTokensComputed()).isEqualTo(500);
        assertThat(later.maxPromptTokens()).as("the longest so far, not a difference").isEqualTo(100);
    }

    @Test
    void closingEarlyEndsTheRequestOnceWithoutAnError() throws Exception {
        long[] clock = {0};
        Scripted engine = new Scripted(clock);
        TrafficMeter meter = new TrafficMeter(engine, () -> clock[0]);
        engine.script("a", new Object[] {1_000_000L, out("a", 1, null, 0, 1)}, new Object[] {1_000_000L, out("a", 1, null, 0, 2)});
        GenerationStream s = meter.submit(request("a", 10));
        s.next();
        s.close();
        s.close();
        TrafficCounters t = meter.snapshot();
        assertThat(t.finished()).isEqualTo(1);
        assertThat(t.failed()).isZero();
        assertThat(meter.maxContextTokens()).isEqualTo(4096);
    }
}
