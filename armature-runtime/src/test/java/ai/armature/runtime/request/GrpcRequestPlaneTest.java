package ai.armature.runtime.request;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.WorkerLostException;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvTier;
import ai.armature.runtime.TestCertificates;
import ai.armature.runtime.TestEngine;
import ai.armature.runtime.TlsFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The request plane over real gRPC on loopback: streaming, cancellation reaching the engine, refusals with their
 * reasons, a worker that dies, hangs or hands requests back (the client sees {@link WorkerLostException}),
 * Stats/Snapshot/Tokenizer, and mutual TLS refusing a client without a certificate.
 */
class GrpcRequestPlaneTest {

    private static final int[] PROMPT = {3, 4, 5};
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    private GrpcWorkerServer server(TestEngine engine, Duration heartbeat, TlsFiles tls) throws Exception {
        byte[] bundle = "tokenizer bytes".repeat(100_000).getBytes();
        GrpcWorkerServer s = new GrpcWorkerServer(engine.id, engine,
                () -> CompletableFuture.completedFuture(new KvCacheSnapshot(42, Map.of(KvTier.DEVICE, Set.of(1L, 2L)))),
                bundle, sha(bundle),
                new GrpcWorkerServer.Config("127.0.0.1", 0, tls, heartbeat));
        s.start();
        open.add(s);
        return s;
    }

    private RemoteWorker client(GrpcWorkerServer s, String id, Duration inactivity, TlsFiles tls, byte[] bundleForHash) {
        return client(s, id, new RemoteWorker.Options(Duration.ofSeconds(5), inactivity, tls), bundleForHash);
    }

    private RemoteWorker client(GrpcWorkerServer s, String id, RemoteWorker.Options options, byte[] bundleForHash) {
        ModelCard card = new ModelCard(id, "m", "m", 4096, 16, ModelCard.ROLE_AGGREGATED, "127.0.0.1:" + s.port(), options.tls() != null, "",
                bundleForHash == null ? "" : sha(bundleForHash), 0, true);
        RemoteWorker w = new RemoteWorker(card, options);
        open.add(w);
        return w;
    }

    private static GenerateRequest request(String id, int maxTokens) {
        return new GenerateRequest(id, PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(maxTokens));
    }

    @Test
    void streamsEveryTokenAndStatsSnapshotAndTokenizer() throws Exception {
        TestEngine engine = new TestEngine("w1", 1);
        GrpcWorkerServer s = server(engine, Duration.ofSeconds(1), null);
        byte[] bundle = "tokenizer bytes".repeat(100_000).getBytes();
        RemoteWorker w = client(s, "w1", Duration.ofSeconds(30), null, bundle);
        List<Integer> tokens = new ArrayList<>();
        GenerateOutput last = null;
        try (GenerationStream st = w.submit(request("r1", 20))) {
            for (GenerateOutput o; (o = st.next()) != null; last = o) for (int t : o.tokenIds()) tokens.add(t);
        }
        assertThat(tokens).containsExactly(Arrays.stream(TestEngine.expected(PROMPT, 20)).boxed().toArray(Integer[]::new));
        assertThat(last.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(last.usage().completionTokens()).isEqualTo(20);
        assertThat(w.fetchStats().kvBlocksTotal()).isEqualTo(100);
        assertThat(w.snapshot().lastEventId()).isEqualTo(42);
        assertThat(w.snapshot().hashes(KvTier.DEVICE)).containsExactlyInAnyOrder(1L, 2L);
        assertThat(w.fetchTokenizer()).isEqualTo(bundle); // 1.5 MB: several chunks
        assertThat(w.inFlight()).isZero();
    }

    @Test
    void closingTheClientStreamCancelsTheRequestInTheWorker() throws Exception {
        TestEngine engine = new TestEngine("w1", 20);
        GrpcWorkerServer s = server(engine, Duration.ofSeconds(1), null);
        RemoteWorker w = client(s, "w1", Duration.ofSeconds(30), null, null);
        GenerationStream st = w.submit(request("r1", 10_000));
        assertThat(st.next().tokenIds()).hasSize(1);
        st.close();
        await(() -> engine.cancels.get() == 1 && engine.running.isEmpty() && s.inFlight() == 0);
    }

    @Test
    void refusalsKeepTheirReason() throws Exception {
        TestEngine engine = new TestEngine("w1", 1);
        GrpcWorkerServer s = server(engine, Duration.ofSeconds(1), null);
        RemoteWorker w = client(s, "w1", Duration.ofSeconds(30), null, null);
        engine.rejectNext = new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL, "40 waiting, retry later");
        assertThatThrownBy(() -> w.submit(request("r1", 5))).isInstanceOfSatisfying(RequestRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo(RequestRejectedException.Reason.QUEUE_FULL)).hasMessage("40 waiting, retry later");
        s.stopAccepting();
        assertThatThrownBy(() -> w.submit(request("r2", 5))).isInstanceOfSatisfying(RequestRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo(RequestRejectedException.Reason.SHUTTING_DOWN)).hasMessageContaining("draining");
    }

    @Test
    void aDeadWorkerIsAShuttingDownRefusalBeforeAcceptingAndALostWorkerAfter() throws Exception {
        TestEngine engine = new TestEngine("w1", 5);
        GrpcWorkerServer s = server(engine, Duration.ofSeconds(1), null);
        RemoteWorker w = client(s, "w1", Duration.ofSeconds(30), null, null);
        GenerationStream st = w.submit(request("r1", 10_000));
        st.next();
        s.close(); // ends the running call like a dying process would
        assertThatThrownBy(() -> {
            while (st.next() != null) { }
        }).isInstanceOfSatisfying(WorkerLostException.class, e -> assertThat(e.workerId()).isEqualTo("w1"));
        assertThatThrownBy(() -> w.submit(request("r2", 5))).isInstanceOfSatisfying(RequestRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo(RequestRejectedException.Reason.SHUTTING_DOWN));
        await(() -> !w.healthy());
    }

    @Test
    void drainingHandsRunningRequestsBackAndHeartbeatsTellSlowFromHung() throws Exception {
        TestEngine engine = new TestEngine("w1", 1);
        GrpcWorkerServer s = server(engine, Duration.ofMillis(50), null);
        RemoteWorker w = client(s, "w1", Duration.ofMillis(500), null, null);

        engine.paused = true; // slow, but its server is alive: heartbeats keep the stream open past the timeout
        GenerationStream slow = w.submit(request("slow", 3));
        Thread.sleep(1000);
        engine.paused = false;
        int n = 0;
        for (GenerateOutput o; (o = slow.next()) != null; ) n += o.tokenIds().length;
        assertThat(n).isEqualTo(3);

        GenerationStream running = w.submit(request("r1", 100_000));
        running.next();
        s.stopAccepting();
        assertThat(s.handBack()).isEqualTo(1);
        assertThatThrownBy(() -> {
            while (running.next() != null) { }
        }).isInstanceOf(WorkerLostException.class).hasMessageContaining("handed back");
        await(() -> engine.running.isEmpty() && s.inFlight() == 0);
        assertThat(s.awaitIdle(Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void aSilentWorkerIsLostAfterTheInactivityTimeout() throws Exception {
        TestEngine engine = new TestEngine("w1", 1);
        GrpcWorkerServer s = server(engine, Duration.ofHours(1), null); // no heartbeats: silence looks like a hang
        RemoteWorker w = client(s, "w1", Duration.ofMillis(300), null, null);
        GenerationStream st = w.submit(request("r1", 1000));
        st.next();
        engine.paused = true;
        assertThatThrownBy(() -> {
            while (st.next() != null) { }
        }).isInstanceOf(WorkerLostException.class).hasMessageContaining("hangs");
        assertThat(w.healthy()).isFalse();
        await(() -> engine.cancels.get() == 1); // the cancelled call reached the worker
    }

    @Test
    void aSuspectWorkerIsProbedUntilItAnswersAndThenUsedAgain() throws Exception {
        TestEngine engine = new TestEngine("w1", 1);
        GrpcWorkerServer s = server(engine, Duration.ofHours(1), null); // no heartbeats
        RemoteWorker w = client(s, "w1", new RemoteWorker.Options(Duration.ofMillis(300), Duration.ofMillis(300), null, Duration.ofMillis(20)), null);
        GenerationStream st = w.submit(request("r1", 1000));
        st.next();
        engine.frozen = true; // SIGSTOP: no output, and Stats does not answer either
        assertThatThrownBy(() -> {
            while (st.next() != null) { }
        }).isInstanceOf(WorkerLostException.class).hasMessageContaining("hangs");
        assertThat(w.suspect()).isTrue();
        await(() -> w.failedProbes() >= 2); // probed without an answer: still left out
        assertThat(w.healthy()).isFalse();
        engine.frozen = false; // SIGCONT: the next probe is answered
        await(w::healthy);
        assertThat(w.suspect()).isFalse();
        int n = 0;
        try (GenerationStream again = w.submit(request("r2", 4))) {
            for (GenerateOutput o; (o = again.next()) != null; ) n += o.tokenIds().length;
        }
        assertThat(n).isEqualTo(4);
    }

    @Test
    void aConsumerThatFallsBehindIsNotMistakenForAHungWorker() throws Exception {
        // Found under 1,000 streams: the frontend read some streams late, their credit ran out, the worker had to stop
        // sending (heartbeats too), and once the consumer caught up the silence was blamed on the worker.
        TestEngine engine = new TestEngine("w1", 0);
        GrpcWorkerServer s = server(engine, Duration.ofMillis(50), null);
        RemoteWorker w = client(s, "w1", Duration.ofMillis(300), null, null);
        int tokens = 400;
        GenerationStream st = w.submit(request("r1", tokens));
        await(() -> engine.running.isEmpty()); // everything generated; the client reads none of it yet
        Thread.sleep(1000); // longer than the inactivity timeout: the worker has been blocked by flow control
        List<Integer> got = new ArrayList<>();
        for (GenerateOutput o; (o = st.next()) != null; ) for (int t : o.tokenIds()) got.add(t);
        assertThat(got).containsExactly(Arrays.stream(TestEngine.expected(PROMPT, tokens)).boxed().toArray(Integer[]::new));
        assertThat(w.healthy()).isTrue();
        await(() -> s.inFlight() == 0 && w.inFlight() == 0);
    }

    @Test
    void mutualTlsAcceptsOnlyClientsWithACertificateFromTheCa(@TempDir Path dir) throws Exception {
        TestCertificates certs = new TestCertificates(dir, "armature-test");
        TestCertificates.Issued server = certs.issue("worker", 2);
        TestCertificates.Issued client = certs.issue("frontend", 3);
        TestCertificates other = new TestCertificates(dir, "stranger");
        TestCertificates.Issued strangerCert = other.issue("intruder", 4);
        TestEngine engine = new TestEngine("w1", 1);
        GrpcWorkerServer s = server(engine, Duration.ofSeconds(1), new TlsFiles(server.cert(), server.key(), certs.caFile));

        RemoteWorker good = client(s, "w1", Duration.ofSeconds(30), new TlsFiles(client.cert(), client.key(), certs.caFile), null);
        try (GenerationStream st = good.submit(request("r1", 4))) {
            int n = 0;
            for (GenerateOutput o; (o = st.next()) != null; ) n += o.tokenIds().length;
            assertThat(n).isEqualTo(4);
        }
        RemoteWorker noCert = client(s, "w1", Duration.ofSeconds(30), new TlsFiles(null, null, certs.caFile), null);
        assertThatThrownBy(() -> noCert.submit(request("r2", 4))).isInstanceOf(RequestRejectedException.class)
                .hasMessageContaining("unreachable");
        RemoteWorker wrongCa = client(s, "w1", Duration.ofSeconds(30), new TlsFiles(strangerCert.cert(), strangerCert.key(), certs.caFile), null);
        assertThatThrownBy(() -> wrongCa.submit(request("r3", 4))).isInstanceOf(RequestRejectedException.class);
        assertThat(engine.submitted).hasSize(1);
    }

    static String sha(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits for a condition, with a generous bound only as a hang guard. */
    static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached within the hang guard");
            Thread.sleep(10);
        }
    }
}
