package ai.armature.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.model.KvDtype;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.router.disagg.DisaggregatedRouter;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.disagg.KvTransferException;
import ai.armature.serving.disagg.KvTransport;
import ai.armature.serving.runner.KvBlocks;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;

/**
 * Disaggregated prefill and decode in one process with the real engine (the tiny demo model, 4K context): the
 * prefill worker computes the prompt and the first token, the decode worker fetches the held blocks through the
 * in-process transport and continues. Greedy output equals one aggregated worker's, token for token, for prompts of
 * 1, 15, 16, 17, 500 and 2,000 tokens, with and without prefix hits on either side; seeded sampling too. A prefill
 * worker that fails, a transfer that fails midway or times out make the decode worker compute locally; the request
 * completes with the same tokens, and both workers end idle (no KV block held, nothing running).
 */
class DisaggregatedServingTest {

    @TempDir
    static Path dir;
    private static LoadedModel model;
    private static int vocab;

    @BeforeAll
    static void writeModel() throws Exception {
        Path path = dir.resolve("tiny4k.gguf");
        // F32 weights: with quantized ones (Q8_0, Q4_0, K-quants) a product with up to the kernels' fused width of
        // vectors (decode steps, short prefill chunks) runs on int8-quantized activations and a wider one in float, so
        // a token's logits depend on how its passes were batched, which splitting prefill and decode over two workers does not fix. F32's paths agree to float
        // rounding, which leaves this test to check the serving path itself.
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(ai.armature.engine.tensor.GgmlType.F32).withContextLength(4096), path);
        model = LoadedModel.open(path);
        vocab = model.model().config().vocabSize();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** 256 blocks of 16 tokens per worker: two 2,000-token prompts fit. */
    private static WorkerSpec spec() {
        long perWorker = 256L * 16 * 256; // tiny: 256 bytes of f16 K/V per token
        return WorkerSpec.engine(model, "tiny", new ServingConfig(16, 256, 8, perWorker, 100, KvDtype.F16));
    }

    private static DisaggregatedRouter disaggregated(int maxLocal, Duration timeout, DisaggregationMetrics metrics,
                                                     java.util.function.UnaryOperator<KvTransport> transport) {
        return Workers.startDisaggregated(spec(), 1, 1, 1, RouterConfig.defaults(), new RemotePrefillRule(maxLocal, 1 << 20),
                timeout, metrics, transport);
    }

    private static GenerateRequest request(String id, int[] prompt, int maxTokens, SamplingParams sampling) {
        return new GenerateRequest(id, prompt, sampling, new StopConditions(maxTokens, null, true, false));
    }

    private static GenerateRequest greedy(String id, int[] prompt, int maxTokens) {
        return request(id, prompt, maxTokens, SamplingParams.GREEDY);
    }

    private static int[] prompt(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = r.nextInt(vocab);
        return p;
    }

    /** Runs a request to its end: its tokens, and the last output (with the usage). */
    private record Run(int[] tokens, GenerateOutput last) {
    }

    private static Run run(GenerationEngine engine, GenerateRequest r) throws InterruptedException {
        List<Integer> tokens = new ArrayList<>();
        GenerateOutput last = null;
        try (GenerationStream s = engine.submit(r)) {
            for (GenerateOutput o; (o = s.next()) != null; last = o) for (int t : o.tokenIds()) tokens.add(t);
        }
        return new Run(tokens.stream().mapToInt(Integer::intValue).toArray(), last);
    }

    /** The tokens one aggregated worker generates for the requests, run one after another. */
    private static List<int[]> aggregated(GenerateRequest... requests) throws Exception {
        List<int[]> out = new ArrayList<>();
        try (ServingEngine alone = WorkerFactory.startAll(spec(), 1, 1, i -> e -> { }).getFirst()) {
            for (GenerateRequest r : requests) out.add(run(alone, r).tokens());
        }
        return out;
    }

    private static ServingEngine worker(DisaggregatedRouter d, WorkerRole role) {
        for (WorkerEndpoint w : d.router().workers()) if (w.role() == role) return (ServingEngine) w.engine();
        throw new IllegalStateException("no " + role + " worker");
    }

    /** Both workers hold no KV block and run nothing (the snapshot call lets each take its queued commands first). */
    private static void assertIdle(DisaggregatedRouter d) throws Exception {
        for (WorkerEndpoint w : d.router().workers()) {
            ServingEngine e = (ServingEngine) w.engine();
            e.kvSnapshot().get();
            EngineStats s = e.stats();
            assertThat(s.kvBlocksUsed()).as(w.id() + " KV blocks in use").isZero();
            assertThat(s.waitingRequests() + s.runningRequests()).as(w.id() + " requests").isZero();
        }
        assertThat(d.router().routerStats().trackedRequests()).isZero();
    }

    @ParameterizedTest(name = "{0}-token prompt")
    @ValueSource(ints = {1, 15, 16, 17, 500, 2000})
    void greedyOutputEqualsAggregatedServing(int length) throws Exception {
        int[] p = prompt(length, length);
        GenerateRequest r = greedy("r", p, 12);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), metrics, t -> t)) {
            Run got = run(d, r);
            assertThat(got.tokens()).containsExactly(expected);
            assertThat(got.last().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(got.last().usage().promptTokens()).isEqualTo(length);
            assertThat(got.last().usage().completionTokens()).isEqualTo(12);
            assertThat(metrics.remotePrefills()).isEqualTo(1);
            assertThat(received(metrics)).isEqualTo(length / 16);
            // The decode worker computed only the prompt's last partial block and the first token.
            ServingEngine decode = worker(d, WorkerRole.DECODE);
            assertThat(decode.counters().prefillTokensComputed()).isEqualTo(chunk(length % 16 + 1));
            assertThat(worker(d, WorkerRole.PREFILL).counters().prefillTokensComputed()).isEqualTo(chunk(length));
            assertIdle(d);
        }
    }

    @Test
    void prefixHitsOnEitherSideKeepTheOutputAndShortenTheWork() throws Exception {
        int[] shared = prompt(7, 480);
        int[] a = concat(shared, prompt(8, 70));   // warms the prefill worker with the shared part
        int[] b = concat(shared, prompt(9, 90));   // prefill hit: 480 tokens (30 blocks) reused there
        int[] c = concat(b, prompt(10, 40));       // decode hit: b's blocks (and its generated tokens) are on the decode worker
        GenerateRequest ra = greedy("a", a, 6), rb = greedy("b", b, 6), rc = greedy("c", c, 6);
        List<int[]> expected = aggregated(ra, rb, rc);
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), metrics, t -> t)) {
            ServingEngine prefill = worker(d, WorkerRole.PREFILL), decode = worker(d, WorkerRole.DECODE);
            assertThat(run(d, ra).tokens()).containsExactly(expected.get(0));
            long before = prefill.counters().prefillTokensComputed();
            Run gb = run(d, rb);
            assertThat(gb.tokens()).containsExactly(expected.get(1));
            assertThat(prefill.counters().prefillTokensComputed() - before).isEqualTo(b.length - 480);
            assertThat(gb.last().usage().cachedPromptTokens()).isEqualTo(480); // the prefill worker's reuse
            long received = received(metrics);
            Run gc = run(d, rc);
            assertThat(gc.tokens()).containsExactly(expected.get(2));
            // b's 35 full blocks were on the decode worker already: only c's further blocks crossed.
            assertThat(received(metrics) - received).isEqualTo(c.length / 16 - b.length / 16);
            assertThat(metrics.remotePrefills()).isEqualTo(3);
            assertIdle(d);
        }
    }

    @Test
    void seededSamplingIsReproducedAcrossTheSplit() throws Exception {
        int[] p = prompt(21, 300);
        GenerateRequest r = request("s", p, 16, new SamplingParams(0.9, 0.95, 40, 0, 1.0, 0.2, 0.1, 1234, -1));
        int[] expected = aggregated(r).getFirst();
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), new DisaggregationMetrics(), t -> t)) {
            assertThat(run(d, r).tokens()).containsExactly(expected);
            assertIdle(d);
        }
    }

    @Test
    void shortPromptsPrefillOnTheDecodeWorker() throws Exception {
        int[] p = prompt(31, 300);
        GenerateRequest r = greedy("short", p, 5);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        try (DisaggregatedRouter d = disaggregated(512, Duration.ofSeconds(30), metrics, t -> t)) {
            assertThat(run(d, r).tokens()).containsExactly(expected);
            assertThat(metrics.remotePrefills()).isZero();
            assertThat(worker(d, WorkerRole.PREFILL).counters().prefillTokensComputed()).isZero();
            assertThat(worker(d, WorkerRole.DECODE).counters().prefillTokensComputed()).isEqualTo(300);
            assertIdle(d);
        }
    }

    @Test
    void aTransferThatFailsMidwayIsComputedOnTheDecodeWorker() throws Exception {
        int[] p = prompt(41, 900);
        GenerateRequest r = greedy("f", p, 8);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        // Delivers the first chunk of 10 blocks, then the stream breaks.
        KvTransportFaults faults = new KvTransportFaults(10, false);
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), metrics, faults::wrap)) {
            Run got = run(d, r);
            assertThat(got.tokens()).containsExactly(expected);
            assertThat(received(metrics)).isEqualTo(10);
            assertThat(fallbacks(metrics, "transfer_failed")).isEqualTo(1);
            // 10 blocks arrived; the decode worker computed the rest of the prompt.
            assertThat(worker(d, WorkerRole.DECODE).counters().prefillTokensComputed()).isEqualTo(900 - 160 + 1);
            assertIdle(d);
        }
    }

    @Test
    void aTransferThatTimesOutIsComputedOnTheDecodeWorkerAndTheHoldExpires() throws Exception {
        int[] p = prompt(42, 400);
        GenerateRequest r = greedy("t", p, 8);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        KvTransportFaults faults = new KvTransportFaults(0, true); // never claims the hold; waits past the deadline
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofMillis(300), metrics, faults::wrap)) {
            Run got = run(d, r);
            assertThat(got.tokens()).containsExactly(expected);
            assertThat(fallbacks(metrics, "transfer_failed")).isEqualTo(1);
            assertThat(worker(d, WorkerRole.DECODE).counters().prefillTokensComputed()).isEqualTo(401);
            // Nobody fetched the prefill worker's hold: it expires after the transfer timeout.
            awaitHoldExpired(worker(d, WorkerRole.PREFILL));
            assertIdle(d);
        }
    }

    @Test
    void aPrefillWorkerThatDiesFallsBackToALocalPrefill() throws Exception {
        int[] p = prompt(51, 700);
        GenerateRequest r = greedy("d", p, 8);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), metrics, t -> t)) {
            ServingEngine prefill = worker(d, WorkerRole.PREFILL);
            // The prefill worker's engine thread is gone: it fails whatever it was given; the router still sees it.
            GenerationStream s = d.submit(r);
            prefill.close();
            List<Integer> tokens = new ArrayList<>();
            GenerateOutput last = null;
            try (s) {
                for (GenerateOutput o; (o = s.next()) != null; last = o) for (int t : o.tokenIds()) tokens.add(t);
            }
            assertThat(tokens).containsExactly(Arrays.stream(expected).boxed().toArray(Integer[]::new));
            assertThat(last.finishReason()).isEqualTo(FinishReason.LENGTH);
            // Either the prefill failed (computed on the decode worker) or its hold could not be fetched.
            assertThat(fallbacks(metrics, "prefill_failed") + fallbacks(metrics, "transfer_failed")).isEqualTo(1);
            ServingEngine decode = worker(d, WorkerRole.DECODE);
            decode.kvSnapshot().get();
            assertThat(decode.stats().kvBlocksUsed()).isZero();
            assertThat(decode.stats().runningRequests() + decode.stats().waitingRequests()).isZero();
            // With the prefill worker down, the next request is placed on the decode worker directly.
            assertThat(run(d, greedy("after", p, 8)).tokens()).containsExactly(expected);
            assertThat(d.router().routerStats().trackedRequests()).isZero();
        }
    }

    @Test
    void cancellingDuringThePrefillOrTheFetchLeavesBothWorkersIdle() throws Exception {
        int[] p = prompt(71, 600);
        java.util.concurrent.CountDownLatch fetching = new java.util.concurrent.CountDownLatch(1);
        // Blocks in the fetch until interrupted (the cancel), after the test saw it start.
        java.util.function.UnaryOperator<KvTransport> stuck = real -> new KvTransport() {
            @Override
            public int fetch(KvTransfer.Fetch source, int fromBlock, int maxBlocks, Consumer<KvBlocks> sink, long deadlineNanos)
                    throws InterruptedException {
                fetching.countDown();
                new java.util.concurrent.CountDownLatch(1).await();
                return 0;
            }

            @Override
            public void release(KvTransfer.Fetch source) {
                real.release(source);
            }
        };
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofMillis(500), new DisaggregationMetrics(), stuck)) {
            // Cancelled at once: the prefill worker drops the request, the decode worker's booking is released.
            d.submit(greedy("early", p, 8)).close();
            // Cancelled while the decode worker fetches: its reserved blocks go back.
            GenerationStream s = d.submit(greedy("late", p, 8));
            assertThat(s.next().tokenIds()).hasSize(1); // the first token, from the prefill worker
            java.util.concurrent.CompletableFuture<GenerateOutput> rest = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return s.next();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            fetching.await();
            s.close();
            assertThat(rest.get().finishReason()).isEqualTo(FinishReason.CANCELLED);
            // The "late" hold was never fetched: it expires after the transfer timeout.
            awaitHoldExpired(worker(d, WorkerRole.PREFILL));
            assertIdle(d);
        }
    }

    @Test
    void withoutDecodeWorkersThePrefillWorkersServeWholeRequestsUntilOneReturns() throws Exception {
        int[] p = prompt(81, 900);
        GenerateRequest r = greedy("w", p, 10);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), metrics, t -> t)) {
            WorkerEndpoint decode = null;
            for (WorkerEndpoint w : d.router().workers()) if (w.role() == WorkerRole.DECODE) decode = w;
            // The decode worker leaves (as discovery removes a worker that died): the prefill worker serves the whole request.
            d.router().removeWorker(decode.id());
            Run whole = run(d, r);
            assertThat(whole.tokens()).containsExactly(expected);
            assertThat(whole.last().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(metrics.localPrefills("no_decode_worker")).isEqualTo(1);
            assertThat(metrics.remotePrefills()).isZero();
            ServingEngine prefill = worker(d, WorkerRole.PREFILL);
            assertThat(prefill.counters().prefillTokensComputed()).isEqualTo(900);
            assertIdle(d);
            // It returns: prompts are prefilled remotely again (the prefill worker's cache now holds this one: a new prompt).
            d.router().addWorker(decode);
            int[] other = prompt(82, 900);
            GenerateRequest again = greedy("back", other, 10);
            assertThat(run(d, again).tokens()).containsExactly(aggregated(again).getFirst());
            assertThat(metrics.remotePrefills()).isEqualTo(1);
            assertThat(metrics.localPrefills("no_decode_worker")).isEqualTo(1);
            assertIdle(d);
        }
    }

    @Test
    void aDecodeWorkerLostAtTheHandOffLeavesTheRestToThePrefillWorker() throws Exception {
        int[] p = prompt(83, 700);
        GenerateRequest r = greedy("h", p, 10);
        int[] expected = aggregated(r).getFirst();
        DisaggregationMetrics metrics = new DisaggregationMetrics();
        try (DisaggregatedRouter started = disaggregated(0, Duration.ofSeconds(30), metrics, t -> t)) {
            ServingEngine decode = worker(started, WorkerRole.DECODE);
            // The same router and rule, with a hand-off that finds the decode worker shut down (deterministically).
            DisaggregatedRouter d = new DisaggregatedRouter(started.router(), started.rule(), id -> "", metrics, task -> {
                decode.close();
                task.run();
            });
            Run got = run(d, r);
            assertThat(got.tokens()).containsExactly(expected);
            assertThat(got.last().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(metrics.remotePrefills()).isEqualTo(1);
            // The prefill worker continued from its own held blocks: nothing was computed twice, its hold is released.
            ServingEngine prefill = worker(started, WorkerRole.PREFILL);
            assertThat(prefill.counters().prefillTokensComputed()).isEqualTo(700 + chunk(700 % 16 + 1));
            prefill.kvSnapshot().get();
            assertThat(prefill.stats().kvBlocksUsed()).isZero();
            assertThat(prefill.stats().runningRequests() + prefill.stats().waitingRequests()).isZero();
            assertThat(started.router().routerStats().trackedRequests()).isZero();
            // With the decode worker down (still registered, unhealthy), the next request is served whole by the prefill worker.
            GenerateRequest next = greedy("next", prompt(84, 600), 6);
            assertThat(run(d, next).tokens()).containsExactly(aggregated(next).getFirst());
            assertThat(metrics.localPrefills("no_decode_worker")).isEqualTo(1);
            assertThat(started.router().routerStats().trackedRequests()).isZero();
        }
    }

    @Test
    void aPrefillThatEndsTheRequestNeedsNoDecodeWorker() throws Exception {
        int[] p = prompt(61, 200);
        GenerateRequest oneToken = greedy("one", p, 1);
        int[] expected = aggregated(oneToken).getFirst();
        try (DisaggregatedRouter d = disaggregated(0, Duration.ofSeconds(30), new DisaggregationMetrics(), t -> t)) {
            assertThat(run(d, oneToken).tokens()).containsExactly(expected);
            assertIdle(d);
        }
    }

    /** Waits (up to 30 s) for a prefill worker's unfetched hold to expire (after the transfer timeout). */
    @Test
    void rolesAndTransferOptionsAreRefusedWhereTheyCannotApply() {
        // Refused before the worker connects to anything (nothing listens on these planes).
        String[] planes = {"--discovery", "etcd://127.0.0.1:9", "--events", "nats://127.0.0.1:9"};
        CliRun r = CliRun.of(worker(planes, "--role", "router"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--role must be prefill, decode or both, got 'router'");
        r = CliRun.of(worker(planes, "--kv-transfer-timeout", "5s"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--kv-transfer-timeout applies with --role prefill or --role decode");
        r = CliRun.of(worker(planes, "--role", "decode", "--kv-transfer-timeout", "0s"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--kv-transfer-timeout must be > 0");
        r = CliRun.of("serve", "--max-local-prefill-tokens", "100");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--max-local-prefill-tokens applies with --prefill-workers and --decode-workers");
        r = CliRun.of("serve", "--prefill-workers", "1");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("needs both --prefill-workers and --decode-workers");
    }

    private static String[] worker(String[] planes, String... args) {
        List<String> a = new ArrayList<>(List.of("worker"));
        a.addAll(List.of(planes));
        a.addAll(List.of(args));
        return a.toArray(String[]::new);
    }

    private static void awaitHoldExpired(ServingEngine prefill) throws InterruptedException {
        for (long deadline = System.nanoTime() + 30_000_000_000L; prefill.stats().kvBlocksUsed() > 0 && System.nanoTime() < deadline; ) {
            Thread.sleep(20);
        }
    }

    /** How the counters count {@code n} positions computed in one go: one position is a decode step, not a prefill chunk. */
    private static long chunk(int n) {
        return n == 1 ? 0 : n;
    }

    private static long received(DisaggregationMetrics m) {
        return (long) m.blocksReceived();
    }

    private static long fallbacks(DisaggregationMetrics m, String reason) {
        return (long) m.fallbacks(reason);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** A transport that breaks after {@code blocks} blocks, or ({@code stall}) sends nothing and waits for the deadline. */
    private record KvTransportFaults(int blocks, boolean stall) {
        KvTransport wrap(KvTransport real) {
            return new KvTransport() {
                @Override
                public int fetch(KvTransfer.Fetch source, int fromBlock, int maxBlocks, Consumer<KvBlocks> sink, long deadlineNanos)
                        throws KvTransferException, InterruptedException {
                    if (stall) {
                        long left = deadlineNanos - System.nanoTime();
                        if (left > 0) Thread.sleep(left / 1_000_000 + 1);
                        throw new KvTransferException("the KV transfer from " + source.sourceWorkerId() + " timed out", 0);
                    }
                    int got = real.fetch(source, fromBlock, Math.min(maxBlocks, blocks), sink, deadlineNanos);
                    throw new KvTransferException("the KV stream from " + source.sourceWorkerId() + " broke", got);
                }

                @Override
                public void release(KvTransfer.Fetch source) {
                    real.release(source);
                }
            };
        }
    }
}
