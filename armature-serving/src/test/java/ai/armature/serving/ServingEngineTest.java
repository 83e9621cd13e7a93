package ai.armature.serving;

import static ai.armature.serving.Harness.greedy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.serving.runner.SampledToken;
import ai.armature.serving.runner.ScheduledSequence;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServingEngineTest {

    private static final int VOCAB = 1000;

    /** A checking runner whose steps wait for permits, so a test controls when steps happen. */
    static final class GatedRunner extends Object implements ai.armature.serving.runner.ModelRunner {
        final CheckingRunner inner = new CheckingRunner(VOCAB, 4096);
        final Semaphore permits = new Semaphore(0);
        /** One permit per step entered (and one more when a test's closer finishes): a point the test can wait on. */
        final Semaphore entered = new Semaphore(0);

        @Override public String modelName() { return inner.modelName(); }
        @Override public int vocabSize() { return VOCAB; }
        @Override public int maxContextTokens() { return 4096; }
        @Override public int[] endOfGenerationTokenIds() { return new int[0]; }
        @Override public long kvBytesPerToken() { return 1; }
        @Override public void allocateKvCache(int numBlocks, int blockSize) { inner.allocateKvCache(numBlocks, blockSize); }
        @Override public void close() { }

        @Override
        public SampledToken[] execute(List<ScheduledSequence> batch) {
            entered.release();
            permits.acquireUninterruptibly();
            return inner.execute(batch);
        }
    }

    private static ServingConfig config(int maxQueued) {
        return new ServingConfig(16, 64, 8, 1024L, maxQueued, null);
    }

    private static List<GenerateOutput> drain(GenerationStream s) throws InterruptedException {
        List<GenerateOutput> out = new ArrayList<>();
        for (GenerateOutput o; (o = s.next()) != null; ) out.add(o);
        return out;
    }

    @Test
    void concurrentRequestsStreamTheirTokensAndStatsReturnToIdle() throws Exception {
        try (ServingEngine engine = new ServingEngine(new CheckingRunner(VOCAB, 4096), config(100))) {
            List<List<GenerateOutput>> results = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                GenerationStream s = engine.submit(greedy("r" + i, new int[] {i, i + 1, i + 2, 3, 4, 5, 6, 7, 8, 9}, 20));
                List<GenerateOutput> out = new ArrayList<>();
                results.add(out);
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        out.addAll(drain(s));
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            for (Thread t : threads) t.join();
            for (List<GenerateOutput> out : results) {
                assertThat(out.getLast().finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(out.stream().mapToInt(o -> o.tokenIds().length).sum()).isEqualTo(20);
                assertThat(out.getLast().usage().completionTokens()).isEqualTo(20);
            }
            EngineStats stats = engine.stats();
            assertThat(stats.waitingRequests()).isZero();
            assertThat(stats.runningRequests()).isZero();
            assertThat(stats.kvBlocksUsed()).isZero();
            assertThat(stats.kvBlocksTotal()).isEqualTo(64);
            assertThat(stats.prefixCacheQueryTokens()).isEqualTo(60);
            assertThat(engine.maxContextTokens()).isEqualTo(4096);
        }
    }

    @Test
    void aFullQueueRefusesNewRequests() throws Exception {
        GatedRunner runner = new GatedRunner();
        ServingEngine engine = new ServingEngine(runner, config(2));
        try {
            GenerationStream running = engine.submit(greedy("running", new int[] {1, 2, 3}, 2));
            runner.entered.acquire();
            engine.submit(greedy("w1", new int[] {1, 2, 3}, 2));
            engine.submit(greedy("w2", new int[] {1, 2, 3}, 2));
            assertThatThrownBy(() -> engine.submit(greedy("w3", new int[] {1, 2, 3}, 2)))
                    .isInstanceOf(RequestRejectedException.class)
                    .hasMessageContaining("limit is 2")
                    .satisfies(e -> assertThat(((RequestRejectedException) e).reason()).isEqualTo(RequestRejectedException.Reason.QUEUE_FULL));
            assertThatThrownBy(() -> engine.submit(greedy("w1", new int[] {1}, 2)))
                    .isInstanceOf(RequestRejectedException.class).hasMessageContaining("already in flight");
            runner.permits.release(1000);
            assertThat(drain(running).getLast().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(engine.healthy()).isTrue();
        } finally {
            runner.permits.release(1_000_000);
            engine.close();
        }
        assertThat(engine.healthy()).isFalse();
    }

    @Test
    void closingAStreamCancelsTheRequestAndFreesItsBlocks() throws Exception {
        GatedRunner runner = new GatedRunner();
        ServingEngine engine = new ServingEngine(runner, config(10));
        try {
            GenerationStream s = engine.submit(greedy("c", new int[40], 500));
            runner.permits.release(3);
            assertThat(s.next().tokenIds()).hasSize(1);
            assertThat(engine.stats().kvBlocksUsed()).isPositive();
            s.close();
            runner.permits.release(1000);
            GenerateOutput last = null;
            for (GenerateOutput o; (o = s.next()) != null; ) last = o;
            assertThat(last.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(last.usage().completionTokens()).isLessThan(500);
            assertThat(engine.stats().kvBlocksUsed()).isZero();
            assertThat(engine.stats().runningRequests()).isZero();
        } finally {
            runner.permits.release(1_000_000);
            engine.close();
        }
    }

    @Test
    void closingTheEngineEndsRequestsInFlightAndRefusesNewOnes() throws Exception {
        GatedRunner runner = new GatedRunner();
        ServingEngine engine = new ServingEngine(runner, config(10));
        GenerationStream s = engine.submit(greedy("inflight", new int[] {1, 2, 3}, 3000));
        runner.permits.release(2);
        assertThat(s.next()).isNotNull();
        // Close while the engine thread is blocked inside a step. Once healthy() is false the shutdown is queued (close()
        // queues it first), so releasing the step lets the engine thread see it right after: the request cannot go on.
        Thread closer = Thread.ofVirtual().start(engine::close);
        while (engine.healthy()) Thread.onSpinWait(); // the engine's own published state, set by close()
        runner.permits.release(1);
        closer.join();
        GenerateOutput last = null;
        for (GenerateOutput o; (o = s.next()) != null; ) last = o;
        assertThat(last.finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(last.error()).contains("shut down");
        assertThatThrownBy(() -> engine.submit(greedy("late", new int[] {1}, 2)))
                .isInstanceOf(RequestRejectedException.class)
                .satisfies(e -> assertThat(((RequestRejectedException) e).reason()).isEqualTo(RequestRejectedException.Reason.SHUTTING_DOWN));
    }

    @Test
    void theMockerServesThroughTheEngineInRealTime() throws Exception {
        var profile = ai.armature.serving.mock.MockProfile.parse("h100-llama3-8b,kv_cache=256MiB");
        var runner = new ai.armature.serving.mock.MockModelRunner(profile, ai.armature.serving.mock.MockClock.realTime());
        try (ServingEngine engine = new ServingEngine(runner, ServingConfig.defaults())) {
            assertThat(engine.kvBlocksTotal()).isEqualTo(128); // 256 MiB / (128 KiB per token * 16)
            long start = System.nanoTime();
            List<GenerateOutput> out = drain(engine.submit(greedy("m", new int[] {1, 2, 3, 4}, 5)));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(out.stream().mapToInt(o -> o.tokenIds().length).sum()).isEqualTo(5);
            assertThat(seconds).isGreaterThanOrEqualTo(engine.stats().busySeconds()).isGreaterThan(5 * 6e-3);
            assertThat(engine.counters().generatedTokens()).isEqualTo(5);
            assertThat(engine.counters().steps()).isEqualTo(5);
            assertThat(engine.counters().finishedRequests()).isEqualTo(1);
        }
    }

    @Test
    void oversizedPromptsAreRejectedAtSubmit() {
        try (ServingEngine engine = new ServingEngine(new CheckingRunner(VOCAB, 4096), config(10))) {
            assertThatThrownBy(() -> engine.submit(greedy("big", new int[2000], 2)))
                    .isInstanceOf(RequestRejectedException.class).hasMessageContaining("1024 tokens");
            assertThat(engine.stats().waitingRequests()).isZero();
        }
    }

    @Test
    void theKvSnapshotAgreesWithTheEventsPublishedBeforeIt() throws Exception {
        var log = new ai.armature.protocol.kv.InMemoryKvEventLog();
        try (ServingEngine engine = new ServingEngine(new CheckingRunner(VOCAB, 4096), config(10), log)) {
            drain(engine.submit(greedy("a", new int[40], 3)));
            var snapshot = engine.kvSnapshot().get();
            assertThat(snapshot.lastEventId()).isEqualTo(log.size()).isPositive();
            assertThat(snapshot.hashes(ai.armature.protocol.kv.KvTier.DEVICE)).hasSize(log.size());
            assertThat(snapshot.hashes(ai.armature.protocol.kv.KvTier.HOST)).isEmpty();
            engine.close();
            assertThatThrownBy(() -> engine.kvSnapshot().get()).hasMessageContaining("shut down");
        }
    }
}
