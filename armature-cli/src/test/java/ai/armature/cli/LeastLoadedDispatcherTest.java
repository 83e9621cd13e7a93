package ai.armature.cli;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LeastLoadedDispatcherTest {

    /** A worker that records what it gets; {@code dead} ones refuse like an engine whose thread died. */
    private static final class FakeWorker implements GenerationEngine {
        final boolean dead;
        final int load;
        final List<String> submitted = new ArrayList<>(), cancelled = new ArrayList<>();

        FakeWorker(boolean dead, int load) {
            this.dead = dead;
            this.load = load;
        }

        @Override
        public GenerationStream submit(GenerateRequest request) {
            if (dead) throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "worker is shutting down");
            submitted.add(request.requestId());
            return new GenerationStream() {
                public String requestId() {
                    return request.requestId();
                }

                public GenerateOutput next() {
                    return null;
                }

                public void close() {
                }
            };
        }

        @Override
        public void cancel(String requestId) {
            cancelled.add(requestId);
        }

        @Override
        public EngineStats stats() {
            return new EngineStats(0, load, 10, 0, 0, 0, 0);
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
        }
    }

    private static GenerateRequest request(String id) {
        return new GenerateRequest(id, new int[]{1}, SamplingParams.GREEDY, StopConditions.maxTokens(1));
    }

    @Test
    void sendsToTheLeastLoadedAndRoutesCancels() {
        FakeWorker busy = new FakeWorker(false, 5), idle = new FakeWorker(false, 1);
        LeastLoadedDispatcher d = new LeastLoadedDispatcher(List.of(busy, idle));
        d.submit(request("a"));
        d.cancel("a");
        assertThat(idle.submitted).containsExactly("a");
        assertThat(idle.cancelled).containsExactly("a");
        assertThat(busy.cancelled).isEmpty();
        assertThat(d.stats().runningRequests()).isEqualTo(6);
    }

    @Test
    void aDeadWorkerDoesNotAbsorbTheTraffic() {
        FakeWorker dead = new FakeWorker(true, 0), alive = new FakeWorker(false, 3);
        LeastLoadedDispatcher d = new LeastLoadedDispatcher(List.of(dead, alive));
        d.submit(request("b"));
        assertThat(alive.submitted).containsExactly("b");
        assertThat(d.healthy()).isTrue();

        LeastLoadedDispatcher allDead = new LeastLoadedDispatcher(List.of(new FakeWorker(true, 0), new FakeWorker(true, 0)));
        assertThat(allDead.healthy()).as("/health turns 503 when no worker can take requests").isFalse();
        assertThatThrownBy(() -> allDead.submit(request("c"))).isInstanceOf(RequestRejectedException.class)
                .hasMessageContaining("shutting down");
    }
}
