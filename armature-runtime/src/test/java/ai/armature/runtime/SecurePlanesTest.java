package ai.armature.runtime;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.runtime.discovery.Discovery;
import ai.armature.runtime.discovery.DiscoveryListener;
import ai.armature.runtime.discovery.EtcdDiscovery;
import ai.armature.runtime.events.NatsEventPlane;
import ai.armature.runtime.events.WorkerEventPublisher;
import ai.armature.runtime.events.WorkerEventsListener;
import ai.armature.runtime.local.LocalEtcd;
import ai.armature.runtime.local.LocalNats;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The discovery and event planes' security options against real servers (certificates generated here; skipped
 * without the binaries): etcd over TLS with client certificates ({@code etcds://...?ca=&cert=&key=}) and with a user
 * and password ({@code etcd://USER:PASSWORD@...}), NATS over TLS with client certificates ({@code tls://...}) and
 * with a user and password. Each works with the right credentials and is refused without them.
 */
class SecurePlanesTest {

    @TempDir
    Path dir;

    private static ModelCard card(String id) {
        return new ModelCard(id, "m", "m", 2048, 16, ModelCard.ROLE_AGGREGATED, "127.0.0.1:1", false, "", "", 0, true);
    }

    private static EtcdDiscovery discovery(String url) {
        return new EtcdDiscovery(PlaneUrl.parse(url, "--discovery", "etcd", "etcds"), "secure", Duration.ofSeconds(5));
    }

    private static String pems(TestCertificates ca, TestCertificates.Issued client) {
        return "?ca=" + ca.caFile + (client == null ? "" : "&cert=" + client.cert() + "&key=" + client.key());
    }

    /** Registers a worker through {@code workers} and waits for {@code frontends}' watch to see it. */
    private static void registersAndIsSeen(EtcdDiscovery workers, EtcdDiscovery frontends) throws Exception {
        Map<String, ModelCard> seen = new ConcurrentHashMap<>();
        try (AutoCloseable watch = frontends.watch(new DiscoveryListener() {
            @Override
            public void workerUp(ModelCard c) {
                seen.put(c.workerId(), c);
            }

            @Override
            public void workerDown(String workerId) {
                seen.remove(workerId);
            }
        })) {
            Discovery.Registration r = workers.register(card("w1"));
            assertThat(r.registered()).isTrue();
            await(() -> card("w1").equals(seen.get("w1")));
            r.close();
            await(() -> seen.isEmpty());
        }
    }

    @Test
    void etcdOverTlsNeedsAClientCertificateFromItsCa() throws Exception {
        var bin = LocalEtcd.find();
        Assumptions.assumeTrue(bin.isPresent(), "etcd is not installed: apt-get install etcd-server (tests that need etcd are skipped)");
        TestCertificates ca = new TestCertificates(dir, "etcd-ca");
        TestCertificates.Issued server = ca.issue("etcd", 2);
        TestCertificates.Issued worker = ca.issue("worker", 3);
        TestCertificates stranger = new TestCertificates(dir, "stranger");
        TestCertificates.Issued intruder = stranger.issue("intruder", 4);
        try (LocalEtcd etcd = new LocalEtcd(bin.get(), dir.resolve("etcd"), new TlsFiles(server.cert(), server.key(), ca.caFile))) {
            etcd.start();
            assertThat(etcd.url()).startsWith("etcds://");
            try (EtcdDiscovery a = discovery(etcd.url() + pems(ca, worker)); EtcdDiscovery b = discovery(etcd.url() + pems(ca, worker))) {
                registersAndIsSeen(a, b);
            }
            // Each refusal is the first, synchronous registration attempt failing (the worker retries in the background).
            try (EtcdDiscovery noCert = discovery(etcd.url() + pems(ca, null))) {
                assertThat(noCert.register(card("w2")).registered()).isFalse();
            }
            try (EtcdDiscovery wrongCa = discovery(etcd.url() + "?ca=" + ca.caFile + "&cert=" + intruder.cert() + "&key=" + intruder.key())) {
                assertThat(wrongCa.register(card("w3")).registered()).isFalse();
            }
            try (EtcdDiscovery plaintext = discovery(etcd.url().replace("etcds://", "etcd://"))) {
                assertThat(plaintext.register(card("w4")).registered()).isFalse();
            }
        }
    }

    @Test
    void etcdWithAuthenticationNeedsTheRightPassword() throws Exception {
        var bin = LocalEtcd.find();
        Assumptions.assumeTrue(bin.isPresent(), "etcd is not installed: apt-get install etcd-server (tests that need etcd are skipped)");
        try (LocalEtcd etcd = new LocalEtcd(bin.get(), dir.resolve("etcd-auth"))) {
            etcd.start();
            try (Client admin = Client.builder().endpoints("http://127.0.0.1:" + etcd.port()).build()) {
                var auth = admin.getAuthClient();
                auth.userAdd(bytes("root"), bytes("r00t pw")).get(10, TimeUnit.SECONDS);
                auth.roleAdd(bytes("root")).get(10, TimeUnit.SECONDS);
                auth.userGrantRole(bytes("root"), bytes("root")).get(10, TimeUnit.SECONDS);
                auth.authEnable().get(10, TimeUnit.SECONDS);
            }
            String good = "etcd://root:r00t%20pw@127.0.0.1:" + etcd.port();
            try (EtcdDiscovery a = discovery(good); EtcdDiscovery b = discovery(good)) {
                registersAndIsSeen(a, b);
            }
            try (EtcdDiscovery wrong = discovery("etcd://root:guess@127.0.0.1:" + etcd.port())) {
                assertThat(wrong.register(card("w2")).registered()).isFalse();
            }
            try (EtcdDiscovery anonymous = discovery(etcd.url())) {
                assertThat(anonymous.register(card("w3")).registered()).isFalse();
            }
        }
    }

    @Test
    void natsOverTlsNeedsAClientCertificateFromItsCa() throws Exception {
        var bin = LocalNats.find();
        Assumptions.assumeTrue(bin.isPresent(), "nats-server is not installed: apt-get install nats-server (tests that need NATS are skipped)");
        TestCertificates ca = new TestCertificates(dir, "nats-ca");
        TestCertificates.Issued server = ca.issue("nats", 2);
        TestCertificates.Issued worker = ca.issue("worker", 3);
        try (LocalNats nats = new LocalNats(bin.get(), dir.resolve("nats"), null, null, new TlsFiles(server.cert(), server.key(), ca.caFile))) {
            nats.start();
            assertThat(nats.url()).startsWith("tls://");
            eventsFlow(nats.url() + pems(ca, worker));
            refused(nats.url() + pems(ca, null));
            refused(nats.url().replace("tls://", "nats://"));
        }
    }

    @Test
    void natsWithAUserNeedsTheRightPassword() throws Exception {
        var bin = LocalNats.find();
        Assumptions.assumeTrue(bin.isPresent(), "nats-server is not installed: apt-get install nats-server (tests that need NATS are skipped)");
        try (LocalNats nats = new LocalNats(bin.get(), dir.resolve("nats-user"), "armature", "s3cret", null)) {
            nats.start();
            assertThat(nats.url()).startsWith("nats://armature:s3cret@");
            eventsFlow(nats.url());
            refused(nats.url().replace("s3cret", "guess"));
            refused("nats://127.0.0.1:" + nats.port());
        }
    }

    /** A worker's KV events and load reach a subscriber through {@code url}. */
    private static void eventsFlow(String url) throws Exception {
        try (NatsEventPlane worker = events(url); NatsEventPlane frontend = events(url)) {
            assertThat(worker.connected()).isTrue();
            List<KvEvent> got = new CopyOnWriteArrayList<>();
            Map<String, EngineStats> loads = new ConcurrentHashMap<>();
            try (AutoCloseable sub = frontend.subscribe("m", new WorkerEventsListener() {
                @Override
                public void kvEvents(String workerId, List<KvEvent> batch) {
                    got.addAll(batch);
                }

                @Override
                public void load(String workerId, EngineStats load) {
                    loads.put(workerId, load);
                }
            })) {
                frontend.flush(Duration.ofSeconds(10));
                try (WorkerEventPublisher pub = worker.publisher("m", "w1")) {
                    for (long id = 1; id <= 10; id++) pub.publish(new KvEvent.BlockRemoved(id, id));
                    pub.publishLoad(new EngineStats(0, 3, 100, 10, 0, 0, 0));
                    await(() -> got.size() == 10 && loads.containsKey("w1"));
                }
            }
            assertThat(loads.get("w1").runningRequests()).isEqualTo(3);
        }
    }

    /** A client with {@code url} is refused at once, with an error that says where it failed to connect. */
    private static void refused(String url) {
        assertThatThrownBy(() -> events(url).close()).isInstanceOf(java.io.IOException.class)
                .hasMessageStartingWith("cannot connect to NATS at " + PlaneUrl.parse(url, "--events", "nats", "tls"));
    }

    private static NatsEventPlane events(String url) throws Exception {
        return new NatsEventPlane(PlaneUrl.parse(url, "--events", "nats", "tls"), "secure", "test");
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached within the hang guard");
            Thread.sleep(20);
        }
    }
}
