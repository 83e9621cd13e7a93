package ai.armature.planner.signal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

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
import ai.armature.protocol.Usage;

class HoldingEngineTest {

    /** Answers every request with one finished output; refuses while {@code up} is false, as a router with no worker does. */
    static final class OneShot implements GenerationEngine {
        final AtomicBoolean up = new AtomicBoolean();
        final List<String> submitted = new CopyOnWriteArrayList<>();

        @Override
        public GenerationStream submit(GenerateRequest r) {
            if (!up.get()) throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "no worker is available");
            if (r.requestId().startsWith("bad")) throw new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG, "too long");
            submitted.add(r.requestId());
            return new GenerationStream() {
                boolean sent;

                @Override
                public String requestId() {
                    return r.requestId();
                }

                @Override
                public GenerateOutput next() {
                    if (sent) return null;
                    sent = true;
                    return new GenerateOutput(r.requestId(), new int[] {7}, null, FinishReason.LENGTH, new Usage(1, 0, 1), null);
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
            return new EngineStats(0, 0, 0, 0, 0, 0, 0);
        }

        @Override
        public int maxContextTokens() {
            return 100;
        }

        @Override
        public void close() {
        }
    }

    static GenerateRequest request(String id) {
        return new GenerateRequest(id, new int[] {1}, SamplingParams.GREEDY, StopConditions.maxTokens(1));
    }

    final OneShot inner = new OneShot();
    final List<Integer> heldCounts = new CopyOnWriteArrayList<>();

    @Test
    void aRequestAtZeroWorkersWaitsAndRunsWhenOneJoins() throws Exception {
        HoldingEngine h = new HoldingEngine(inner, inner.up::get, Duration.ofMinutes(5), heldCounts::add);
        GenerationStream s = h.submit(request("a"));
        assertThat(h.held()).isEqualTo(1);
        assertThat(heldCounts).containsExactly(1);
        var pool = Executors.newVirtualThreadPerTaskExecutor();
        Future<GenerateOutput> out = pool.submit(s::next);
        Thread.sleep(100);
        assertThat(out).isNotDone();
        inner.up.set(true);
        h.workerAvailable();
        assertThat(out.get(30, TimeUnit.SECONDS).tokenIds()).containsExactly(7);
        assertThat(s.next()).isNull();
        assertThat(h.held()).isZero();
        assertThat(heldCounts).containsExactly(1, 0);
        // With a worker, requests go straight through.
        assertThat(h.submit(request("b")).next().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(heldCounts).hasSize(2);
        pool.shutdownNow();
    }

    @Test
    void theLastWorkerLeavingAtSubmitHoldsTheRequest() throws Exception {
        // The model had a worker when the request came, but it left before the router picked it.
        java.util.Iterator<Boolean> answers = List.of(true, false).iterator();
        HoldingEngine h = new HoldingEngine(inner, () -> answers.hasNext() ? answers.next() : inner.up.get(), Duration.ofMinutes(5), heldCounts::add);
        GenerationStream s = h.submit(request("a"));
        assertThat(h.held()).isEqualTo(1);
        inner.up.set(true);
        h.workerAvailable();
        assertThat(s.next().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(inner.submitted).containsExactly("a");
    }

    @Test
    void heldRequestsCanBeCancelledTimeOutOrFailAtSubmit() throws Exception {
        HoldingEngine h = new HoldingEngine(inner, inner.up::get, Duration.ofMillis(300), heldCounts::add);
        GenerationStream a = h.submit(request("a"));
        h.cancel("a");
        assertThat(a.next().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(a.next()).isNull();

        GenerationStream b = h.submit(request("b"));
        GenerateOutput late = b.next();
        assertThat(late.finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(late.error()).contains("no worker of this model became available").contains("planner");
        assertThat(late.errorKind()).isEqualTo(GenerateOutput.ErrorKind.UNAVAILABLE); // the frontend's 503

        GenerationStream c = h.submit(request("bad-c"));
        inner.up.set(true);
        h.workerAvailable();
        GenerateOutput refused = c.next();
        assertThat(refused.finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(refused.error()).isEqualTo("too long");
        assertThat(refused.errorKind()).isEqualTo(GenerateOutput.ErrorKind.INVALID); // 400, as at submit
        assertThat(h.held()).isZero();

        inner.up.set(false);
        GenerationStream d = h.submit(request("d"));
        assertThatThrownBy(() -> h.submit(request("d"))).isInstanceOf(RequestRejectedException.class).hasMessageContaining("already waiting");
        d.close();
        assertThat(h.held()).isZero();
    }
}
