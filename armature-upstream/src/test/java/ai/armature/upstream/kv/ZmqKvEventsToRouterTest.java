package ai.armature.upstream.kv;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A ZMQ publisher inside the test plays vLLM's and SGLang's publishers (their frames and msgpack payloads, a skipped
 * sequence number included); the real subscriber, translator and router consume them; the router's index is
 * checked afterwards against Armature's own hashes of the same tokens.
 */
class ZmqKvEventsToRouterTest {

    private final ZContext zmq = new ZContext();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final BlockHasher hasher = new BlockHasher("served");

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
        zmq.close();
    }

    /** A publisher that knows when the subscriber's subscription arrived (XPUB), so no message is sent before. */
    private final class Publisher {
        final ZMQ.Socket socket = zmq.createSocket(SocketType.XPUB);
        final int port = socket.bindToRandomPort("tcp://127.0.0.1");

        void awaitSubscriber() {
            socket.setReceiveTimeOut(30_000);
            byte[] sub = socket.recv();
            assertThat(sub).as("subscription").isNotNull();
        }

        void send(String topic, long seq, byte[] payload) {
            socket.sendMore(topic);
            socket.sendMore(ByteBuffer.allocate(8).putLong(seq).array());
            socket.send(payload);
        }
    }

    private record Wired(Router router, KvEventTranslator translator, ZmqKvEventSubscriber subscriber) {
    }

    private Wired wire(Publisher pub, KvEventDecoder.Schema schema, int blockSize) {
        Router router = new Router(RouterConfig.defaults());
        KvEventTranslator translator = new KvEventTranslator("up-0", hasher, blockSize);
        router.addWorker(new WorkerEndpoint("up-0", blockSize, "served", true, WorkerRole.AGGREGATED, new IdleEngine(),
                () -> CompletableFuture.completedFuture(translator.snapshot())));
        ZmqKvEventSubscriber sub = new ZmqKvEventSubscriber("tcp://127.0.0.1:" + pub.port, new KvEventDecoder(schema), translator,
                events -> router.onKvEvents("up-0", events));
        sub.start();
        toClose.add(router);
        toClose.add(sub);
        pub.awaitSubscriber();
        return new Wired(router, translator, sub);
    }

    private static int[] range(int from, int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = from + i;
        return a;
    }

    private int predictedCachedTokens(Router router, int[] prompt) {
        String id = "q-" + System.nanoTime();
        var route = router.route(new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(4)), w -> true, Set.of());
        router.unroute(id);
        return route.cachedTokens();
    }

    @Test
    void vllmEventsIndexExactlyAndASkippedSequenceNumberMakesTheWorkerUncertain() throws Exception {
        Publisher pub = new Publisher();
        Wired w = wire(pub, KvEventDecoder.Schema.VLLM, 16);
        int[] tokens = range(50, 64);
        // seq 0: blocks 0-1 (array encoding, as vLLM before PR #42892); seq 1: blocks 2-3 (map encoding, as after).
        pub.send("kv-events", 0, WireFormat.vllmArrayBatch(List.of(
                WireFormat.vllmStoredArray(List.of(101L, 102L), null, Arrays.copyOfRange(tokens, 0, 32), 16))));
        pub.send("kv-events", 1, WireFormat.vllmMapBatch(List.of(
                WireFormat.vllmStoredMap(List.of(103L, 104L), 102L, Arrays.copyOfRange(tokens, 32, 64), 16))));
        long[] expected = hasher.hashFullBlocks(null, tokens, 64, 16);
        await(() -> w.router().indexedHashes("up-0").length == 4);
        assertThat(w.router().indexedHashes("up-0")).containsExactlyInAnyOrder(expected);
        int[] prompt = Arrays.copyOf(tokens, 70); // 64 cached tokens and more
        assertThat(predictedCachedTokens(w.router(), prompt)).isEqualTo(64);
        // seq 2: the last block is evicted.
        pub.send("kv-events", 2, WireFormat.vllmArrayBatch(List.of(Arrays.asList("BlockRemoved", List.of(104L), "GPU"))));
        await(() -> w.router().indexedHashes("up-0").length == 3);
        assertThat(w.router().kvUncertain("up-0")).isFalse();
        // seq 3 is lost; seq 4 stores a block after block 2: the worker's cache is now unknown beyond what it names.
        int[] more = range(500, 16);
        pub.send("kv-events", 4, WireFormat.vllmMapBatch(List.of(WireFormat.vllmStoredMap(List.of(105L), 103L, more, 16))));
        await(() -> w.router().kvUncertain("up-0"));
        assertThat(w.translator().snapshot().complete()).isFalse();
        assertThat(w.router().routerStats().kvEventGaps()).isEqualTo(1);
        assertThat(w.router().routerStats().kvSnapshots()).isEqualTo(1);
        int[] chain = Arrays.copyOf(tokens, 64);
        System.arraycopy(more, 0, chain, 48, 16);
        long block3 = hasher.hashFullBlocks(null, chain, 64, 16)[3];
        assertThat(w.router().indexedHashes("up-0")).contains(block3).contains(expected[0], expected[1], expected[2]);
        // While uncertain the router also believes what it sends there: a new prompt routed to it is then predicted cached.
        int[] fresh = range(9000, 40);
        assertThat(predictedCachedTokens(w.router(), fresh)).isZero();
        assertThat(predictedCachedTokens(w.router(), fresh)).isEqualTo(32);
        // The engine clears its cache (vLLM's reset_prefix_cache): known again, empty.
        pub.send("kv-events", 5, WireFormat.vllmMapBatch(List.of(WireFormat.map("type", "AllBlocksCleared"))));
        await(() -> !w.router().kvUncertain("up-0"));
        assertThat(w.router().indexedHashes("up-0")).isEmpty();
    }

    @Test
    void sglangPerPageEventsWithASkippedSequenceNumber() throws Exception {
        Publisher pub = new Publisher();
        Wired w = wire(pub, KvEventDecoder.Schema.SGLANG, 1); // SGLang's default page: one token
        int[] tokens = range(3, 6);
        List<Object> events = new ArrayList<>();
        Long parent = null;
        for (int i = 0; i < tokens.length; i++) {
            events.add(WireFormat.sglangStored(700 + i, parent, new int[] {tokens[i]}));
            parent = 700L + i;
        }
        pub.send("", 0, WireFormat.sglangBatch(events));
        await(() -> w.router().indexedHashes("up-0").length == 6);
        assertThat(w.router().indexedHashes("up-0")).containsExactlyInAnyOrder(hasher.hashFullBlocks(null, tokens, 6, 1));
        assertThat(predictedCachedTokens(w.router(), Arrays.copyOf(tokens, 8))).isEqualTo(6);
        // Radix eviction, leaf first, then a lost message (seq 2 skipped).
        pub.send("", 1, WireFormat.sglangBatch(List.of(Arrays.asList("BlockRemoved", List.of(705L), "GPU"),
                Arrays.asList("BlockRemoved", List.of(704L), "GPU"))));
        await(() -> w.router().indexedHashes("up-0").length == 4);
        pub.send("", 3, WireFormat.sglangBatch(List.of(WireFormat.sglangStored(800, 703L, new int[] {42}))));
        await(() -> w.router().kvUncertain("up-0"));
        int[] extended = {3, 4, 5, 6, 42};
        assertThat(w.router().indexedHashes("up-0")).containsExactlyInAnyOrder(hasher.hashFullBlocks(null, extended, 5, 1));
        assertThat(w.subscriber().received()).isEqualTo(3);
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached");
            LockSupport.parkNanos(5_000_000);
        }
    }

    /** A worker engine that is never asked to generate here (only its KV view is under test). */
    private static final class IdleEngine implements GenerationEngine {
        public GenerationStream submit(GenerateRequest request) {
            throw new UnsupportedOperationException();
        }

        public void cancel(String requestId) {
        }

        public EngineStats stats() {
            return new EngineStats(0, 0, 0, 0, 0, 0, 0);
        }

        public int maxContextTokens() {
            return 1 << 20;
        }

        public void close() {
        }
    }
}
