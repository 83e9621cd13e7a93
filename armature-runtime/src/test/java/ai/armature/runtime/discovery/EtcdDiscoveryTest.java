package ai.armature.runtime.discovery;

import ai.armature.protocol.ModelCard;
import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.local.LocalEtcd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Discovery on a real etcd (started on free ports; skipped without the binary): a watch sees registrations come
 * and go, a worker that stops keeping its lease alive disappears when the lease expires, one that deregisters
 * disappears at once, and after etcd restarts (with or without its data) workers are registered again and
 * watchers reconcile, keeping what they knew meanwhile.
 */
class EtcdDiscoveryTest {

    @TempDir
    static Path dir;
    private static LocalEtcd etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        var bin = LocalEtcd.find();
        Assumptions.assumeTrue(bin.isPresent(), "etcd is not installed: apt-get install etcd-server (tests that need etcd are skipped)");
        etcd = new LocalEtcd(bin.get(), dir.resolve("etcd"));
        etcd.start();
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) etcd.close();
    }

    private static EtcdDiscovery discovery(String ns, Duration ttl) {
        return new EtcdDiscovery(PlaneUrl.parse(etcd.url(), "--discovery", "etcd", "etcds"), ns, ttl);
    }

    private static ModelCard card(String id) {
        return new ModelCard(id, "model-a", "model-a", 2048, 16, ModelCard.ROLE_AGGREGATED, "127.0.0.1:1", false, "", "", 0, true);
    }

    /** Records what a watch reports. */
    private static final class Seen implements DiscoveryListener {
        final Map<String, ModelCard> up = new ConcurrentHashMap<>();

        @Override
        public void workerUp(ModelCard card) {
            up.put(card.workerId(), card);
        }

        @Override
        public void workerDown(String workerId) {
            up.remove(workerId);
        }
    }

    @Test
    void aRegistrationMadeWhileEtcdIsDownIsAwaitedUntilEtcdStarts() throws Exception {
        try (LocalEtcd late = new LocalEtcd(LocalEtcd.find().orElseThrow(), dir.resolve("late-etcd"));
             EtcdDiscovery d = new EtcdDiscovery(PlaneUrl.parse(late.url(), "--discovery", "etcd", "etcds"), "late", Duration.ofSeconds(2))) {
            Discovery.Registration r = d.register(card("w"));
            assertThat(r.awaitRegistered(Duration.ofMillis(200))).isFalse();
            assertThat(r.registered()).isFalse();
            late.start();
            long guard = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!r.awaitRegistered(Duration.ofMillis(500))) {
                if (System.nanoTime() > guard) throw new AssertionError("not registered within the hang guard");
            }
            Seen seen = new Seen();
            d.watch(seen);
            await(() -> seen.up.containsKey("w"));
            r.close();
            assertThat(r.awaitRegistered(Duration.ofMillis(100))).isFalse(); // closed: no longer registered, no wait
        }
    }

    @Test
    void watchersSeeWorkersComeAndGoAndExpiredLeasesRemoveThem() throws Exception {
        try (EtcdDiscovery workers = discovery("t1", Duration.ofSeconds(2)); EtcdDiscovery frontend = discovery("t1", Duration.ofSeconds(2));
             EtcdDiscovery otherNamespace = discovery("t2", Duration.ofSeconds(2))) {
            Seen seen = new Seen();
            Seen other = new Seen();
            frontend.watch(seen);
            otherNamespace.watch(other);
            Discovery.Registration a = workers.register(card("a"));
            Discovery.Registration b = workers.register(card("b"));
            await(() -> seen.up.keySet().equals(java.util.Set.of("a", "b")));
            assertThat(seen.up.get("a")).isEqualTo(card("a"));
            a.close();
            await(() -> !seen.up.containsKey("a"));

            // A process that dies stops its keep-alive: its key goes when the 2 s lease expires.
            EtcdDiscovery dying = discovery("t1", Duration.ofSeconds(2));
            dying.register(card("c"));
            await(() -> seen.up.containsKey("c"));
            dying.close(); // closes the client without revoking: like a killed process
            await(() -> !seen.up.containsKey("c"));

            // A frontend started later sees what is registered now.
            Seen late = new Seen();
            try (EtcdDiscovery again = discovery("t1", Duration.ofSeconds(2))) {
                again.watch(late);
                await(() -> late.up.keySet().equals(java.util.Set.of("b")));
            }
            assertThat(other.up).isEmpty();
            b.close();
        }
    }

    @Test
    void afterEtcdRestartsWorkersAreRegisteredAgainAndWatchersReconcile() throws Exception {
        try (EtcdDiscovery workers = discovery("t3", Duration.ofSeconds(3)); EtcdDiscovery frontend = discovery("t3", Duration.ofSeconds(3))) {
            Seen seen = new Seen();
            frontend.watch(seen);
            Discovery.Registration a = workers.register(card("a"));
            await(() -> seen.up.containsKey("a"));

            etcd.stop(false);
            Thread.sleep(500);
            assertThat(seen.up).containsKey("a"); // keeps what it knew while etcd is down
            etcd.start();
            Discovery.Registration b = workers.register(card("b"));
            await(() -> seen.up.keySet().equals(java.util.Set.of("a", "b")) && a.registered());

            // etcd loses its data: the lease is gone, the worker registers again under a new one.
            etcd.stop(true);
            java.nio.file.Files.walk(dir.resolve("etcd/data")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            etcd.start();
            try (EtcdDiscovery fresh = discovery("t3", Duration.ofSeconds(3))) {
                Seen after = new Seen();
                fresh.watch(after);
                await(() -> after.up.keySet().equals(java.util.Set.of("a", "b")));
            }
            await(() -> seen.up.keySet().equals(java.util.Set.of("a", "b")));
            a.close();
            b.close();
            await(() -> seen.up.isEmpty());
        }
    }

    static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached within the hang guard");
            Thread.sleep(20);
        }
    }
}
