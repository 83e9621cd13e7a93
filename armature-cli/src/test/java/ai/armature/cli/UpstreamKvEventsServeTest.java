package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve --upstream URL --kv-events tcp://...} wired end to end: an {@code armature serve} process plays the
 * engine, a ZMQ publisher in the test plays its KV event publisher (vLLM's frames and array-encoded msgpack), and
 * the front's router indexes the events (its /metrics), predicts the published prefix as cached for a prompt that
 * starts with it, and counts a skipped sequence number as a gap resolved by the translator's snapshot.
 */
class UpstreamKvEventsServeTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path dir;
    private static ZContext zmq;
    private static ZMQ.Socket pub;
    private static ArmatureProcess upstream, front;

    @BeforeAll
    static void start() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), model);
        zmq = new ZContext();
        pub = zmq.createSocket(SocketType.XPUB);
        int port = pub.bindToRandomPort("tcp://127.0.0.1");
        upstream = ArmatureProcess.start(dir, "engine", "serve", "--model", model.toString(), "--served-model-name", "tiny",
                "--host", "127.0.0.1", "--port", "0", "--kv-cache-memory", "8MiB", "--max-seqs", "8");
        front = ArmatureProcess.start(dir, "front", "serve", "--host", "127.0.0.1", "--port", "0", "--tokenizer", model.toString(),
                "--served-model-name", "tiny", "--upstream", upstream.url(), "--kv-events", "tcp://127.0.0.1:" + port,
                "--upstream-block-size", "16");
        pub.setReceiveTimeOut(60_000);
        assertThat(pub.recv()).as("the front subscribed").isNotNull();
        await(() -> metric("armature_router_workers") == 1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (front != null) front.close();
        if (upstream != null) upstream.close();
        if (zmq != null) zmq.close();
    }

    @Test
    void theRouterIndexesTheEnginesEventsAndRoutesByThem() throws Exception {
        int[] prefix = tokenize("the shared system prompt of this deployment, long enough for a few blocks of sixteen tokens each one");
        int blocks = prefix.length / 16;
        assertThat(blocks).isGreaterThanOrEqualTo(2);
        int[] cached = java.util.Arrays.copyOf(prefix, blocks * 16);
        long[] hashes = new long[blocks];
        for (int i = 0; i < blocks; i++) hashes[i] = 1000 + i;
        send(0, stored(hashes, cached));
        await(() -> metric("armature_router_indexer_blocks") == blocks);

        double predictedBefore = metric("armature_router_predicted_hit_tokens_total");
        String body = "{\"model\":\"tiny\",\"prompt\":" + ids(prefix) + ",\"max_tokens\":2,\"temperature\":0}";
        assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(front.url() + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        int reusable = (prefix.length - 1) / 16; // the block holding the last prompt token never counts
        assertThat(metric("armature_router_predicted_hit_tokens_total") - predictedBefore).isEqualTo(Math.min(blocks, reusable) * 16);

        // Sequence 1 is lost: the router resynchronises from the adapter, whose snapshot says it is incomplete.
        send(2, removedAll(hashes[blocks - 1]));
        await(() -> metric("armature_router_kv_event_gaps_total") == 1 && metric("armature_router_kv_snapshots_total") == 1);
        await(() -> metric("armature_router_indexer_blocks") == blocks - 1);
    }

    private static void send(long seq, byte[] payload) {
        pub.sendMore("kv-events");
        pub.sendMore(ByteBuffer.allocate(8).putLong(seq).array());
        pub.send(payload);
    }

    /** vLLM's array encoding: [ts, [["BlockStored", hashes, parent, token_ids, block_size, lora_id, medium]], dp_rank]. */
    private static byte[] stored(long[] hashes, int[] tokens) throws Exception {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(3).packDouble(1.7e9).packArrayHeader(1).packArrayHeader(7).packString("BlockStored");
            p.packArrayHeader(hashes.length);
            for (long h : hashes) p.packLong(h);
            p.packNil();
            p.packArrayHeader(tokens.length);
            for (int t : tokens) p.packInt(t);
            p.packInt(16).packNil().packString("GPU").packInt(0);
            return p.toByteArray();
        }
    }

    private static byte[] removedAll(long hash) throws Exception {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(3).packDouble(1.7e9).packArrayHeader(1).packArrayHeader(3).packString("BlockRemoved");
            p.packArrayHeader(1).packLong(hash).packString("GPU").packInt(0);
            return p.toByteArray();
        }
    }

    private static int[] tokenize(String text) throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":" + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(text)
                + ",\"max_tokens\":1,\"temperature\":0,\"return_token_ids\":true}";
        var r = HTTP.send(HttpRequest.newBuilder(URI.create(upstream.url() + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        var ids = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).at("/choices/0/prompt_token_ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) out[i] = ids.get(i).asInt();
        return out;
    }

    private static String ids(int[] a) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < a.length; i++) s.append(i == 0 ? "" : ",").append(a[i]);
        return s.append(']').toString();
    }

    private static double metric(String name) {
        try {
            return front.metric(name);
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached");
            LockSupport.parkNanos(20_000_000);
        }
    }
}
