package ai.armature.runtime.discovery;

import ai.armature.protocol.ModelCard;
import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.RuntimeCodec;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Discovery on etcd (jetcd). A worker's card is the JSON value of {@code /armature/NAMESPACE/workers/WORKER_ID},
 * put under a lease of {@code leaseTtl} that the client keeps alive; closing the registration revokes the lease,
 * which deletes the key at once. When etcd is unreachable the keep-alive retries; if the lease was lost meanwhile
 * (it expired, or etcd came back without its data) the worker registers again under a new lease, and a periodic
 * check re-puts a key that vanished. A worker that cannot reach etcd at all retries every second and says why in one
 * warning, repeated every {@value #WARN_EVERY_MS} ms while it lasts ({@link Registration#awaitRegistered} tells when
 * it succeeded). A watch lists the prefix, then watches it from the listed revision; after an
 * error it lists again and reports the difference, so a frontend reconciles after an outage and, while etcd is
 * down, keeps the workers it knew.
 */
public final class EtcdDiscovery implements Discovery {

    private static final Logger LOG = Logger.getLogger(EtcdDiscovery.class.getName());
    private static final long RPC_TIMEOUT_MS = 5000;
    private static final long RETRY_MS = 1000;
    /** While registering keeps failing, how often the reason is logged again (one line, not one per retry). */
    static final long WARN_EVERY_MS = 10_000;

    private final Client client;
    private final String prefix;
    private final Duration leaseTtl;
    private final String endpoints;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon(true).name("armature-etcd").unstarted(r));
    private volatile boolean closed;

    public EtcdDiscovery(PlaneUrl url, String namespace, Duration leaseTtl) {
        if (leaseTtl.toSeconds() < 1) throw new IllegalArgumentException("the lease TTL must be at least 1 s, got " + leaseTtl);
        this.prefix = "/armature/" + namespace + "/workers/";
        this.leaseTtl = leaseTtl;
        this.endpoints = String.join(",", url.serverUrls("http", "https"));
        ClientBuilder b = Client.builder().endpoints(url.serverUrls("http", "https").toArray(String[]::new))
                .connectTimeout(Duration.ofSeconds(3)).retryMaxDuration(Duration.ofSeconds(3));
        if (url.user() != null) {
            b.user(bytes(url.user()));
            b.password(bytes(url.password() == null ? "" : url.password()));
        }
        if (url.secure()) {
            try {
                b.sslContext(url.tls().grpcClient());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot set up TLS for etcd: " + e.getMessage(), e);
            }
        }
        this.client = b.build();
    }

    @Override
    public Registration register(ModelCard card) {
        EtcdRegistration r = new EtcdRegistration(card);
        r.attempt();
        return r;
    }

    @Override
    public AutoCloseable watch(DiscoveryListener listener) {
        EtcdWatch w = new EtcdWatch(listener);
        later(w::reconcile, 0);
        return w;
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        client.close();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private void later(Runnable r, long millis) {
        if (!closed) {
            try {
                timer.schedule(r, millis, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    /** One worker's lease and key, kept alive and re-created after outages until closed. */
    private final class EtcdRegistration implements Registration, StreamObserver<LeaseKeepAliveResponse> {
        private final ModelCard card;
        private final ByteSequence key;
        private final ByteSequence value;
        private volatile long leaseId;
        private volatile boolean registered;
        private volatile boolean done;
        private CloseableClient keepAlive;
        /** When the current run of failed attempts began, and when it was last logged (0: none failing). */
        private long failingSinceNanos;
        private long warnedNanos;

        EtcdRegistration(ModelCard card) {
            this.card = card;
            this.key = bytes(prefix + card.workerId());
            this.value = bytes(RuntimeCodec.toJson(card));
        }

        /** Grants a lease, puts the card under it and keeps it alive; on failure tries again a second later. */
        synchronized void attempt() {
            if (done || closed) return;
            try {
                if (keepAlive != null) keepAlive.close();
                long id = client.getLeaseClient().grant(leaseTtl.toSeconds()).get(RPC_TIMEOUT_MS, TimeUnit.MILLISECONDS).getID();
                client.getKVClient().put(key, value, PutOption.builder().withLeaseId(id).build()).get(RPC_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                leaseId = id;
                keepAlive = client.getLeaseClient().keepAlive(id, this);
                boolean again = registered;
                registered = true;
                failingSinceNanos = 0;
                notifyAll();
                LOG.info(() -> (again ? "re-registered " : "registered ") + card.workerId() + " in etcd (lease " + Long.toHexString(id) + ")");
                later(this::check, leaseTtl.toMillis() / 2);
            } catch (Exception e) {
                registered = false;
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                long now = System.nanoTime();
                if (failingSinceNanos == 0) {
                    failingSinceNanos = now;
                    warnedNanos = now;
                    LOG.warning(() -> "cannot register " + card.workerId() + " in etcd at " + endpoints + " (" + rootMessage(e)
                            + "); retrying every " + RETRY_MS / 1000 + " s");
                } else if (now - warnedNanos >= TimeUnit.MILLISECONDS.toNanos(WARN_EVERY_MS)) {
                    warnedNanos = now;
                    long seconds = TimeUnit.NANOSECONDS.toSeconds(now - failingSinceNanos);
                    LOG.warning(() -> "still cannot register " + card.workerId() + " in etcd at " + endpoints + " after " + seconds + " s ("
                            + rootMessage(e) + "); retrying");
                }
                later(this::attempt, RETRY_MS);
            }
        }

        @Override
        public synchronized boolean awaitRegistered(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!registered() && !done && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return registered();
        }

        /** Re-registers if the key vanished while the lease was thought alive (etcd lost its data, someone deleted it). */
        private void check() {
            if (done || closed) return;
            try {
                GetResponse r = client.getKVClient().get(key).get(RPC_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                if (r.getKvs().isEmpty()) {
                    LOG.warning(() -> "the registration of " + card.workerId() + " vanished from etcd; registering again");
                    registered = false;
                    attempt();
                    return;
                }
            } catch (Exception e) {
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                // etcd unreachable: the keep-alive retries by itself; check again later.
            }
            later(this::check, leaseTtl.toMillis() / 2);
        }

        @Override
        public void onNext(LeaseKeepAliveResponse r) {
        }

        @Override
        public void onError(Throwable t) {
            // Connection errors: jetcd restarts the keep-alive stream by itself. A lost lease needs a new one.
            if (String.valueOf(t.getMessage()).contains("lease not found")) lost("its lease is gone");
        }

        @Override
        public void onCompleted() {
            lost("its lease expired while etcd was unreachable");
        }

        private void lost(String why) {
            if (done || closed) return;
            registered = false;
            LOG.warning(() -> "the registration of " + card.workerId() + " was lost (" + why + "); registering again");
            later(this::attempt, 0);
        }

        @Override
        public boolean registered() {
            return registered && !done;
        }

        @Override
        public synchronized void close() {
            if (done) return;
            done = true;
            registered = false;
            if (keepAlive != null) keepAlive.close();
            try {
                client.getLeaseClient().revoke(leaseId).get(RPC_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                LOG.warning(() -> "cannot deregister " + card.workerId() + " from etcd (" + rootMessage(e) + "); its lease expires in "
                        + leaseTtl.toSeconds() + " s");
            }
        }
    }

    /**
     * A watch of the workers prefix, re-listed after errors so the listener converges on etcd's state. All its state
     * lives on the timer thread: watch events are handed to it, so the listener is called from one thread only.
     */
    private final class EtcdWatch implements AutoCloseable {
        private final DiscoveryListener listener;
        private final Map<String, ModelCard> known = new HashMap<>();
        private Watch.Watcher watcher;
        private volatile boolean stopped;

        EtcdWatch(DiscoveryListener listener) {
            this.listener = listener;
        }

        /** Lists the prefix, reports the difference to what is known, and watches from there. */
        void reconcile() {
            if (stopped || closed) return;
            if (watcher != null) {
                watcher.close();
                watcher = null;
            }
            ByteSequence p = bytes(prefix);
            GetResponse list;
            try {
                list = client.getKVClient().get(p, GetOption.builder().isPrefix(true).build()).get(RPC_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                LOG.warning(() -> "cannot list workers in etcd (" + rootMessage(e) + "); keeping the " + known.size()
                        + " known, retrying");
                later(this::reconcile, RETRY_MS);
                return;
            }
            Set<String> seen = new HashSet<>();
            for (KeyValue kv : list.getKvs()) {
                ModelCard card = parse(kv);
                if (card == null) continue;
                seen.add(card.workerId());
                up(card);
            }
            for (String id : Set.copyOf(known.keySet())) if (!seen.contains(id)) down(id);
            long from = list.getHeader().getRevision() + 1;
            watcher = client.getWatchClient().watch(p, WatchOption.builder().isPrefix(true).withRevision(from).build(),
                    Watch.listener(r -> later(() -> apply(r.getEvents()), 0), t -> {
                        LOG.warning(() -> "the etcd watch failed (" + rootMessage(t) + "); listing again");
                        later(this::reconcile, RETRY_MS);
                    }, () -> later(this::reconcile, RETRY_MS)));
        }

        private void apply(java.util.List<WatchEvent> events) {
            if (stopped) return;
            for (WatchEvent e : events) {
                switch (e.getEventType()) {
                    case PUT -> {
                        ModelCard card = parse(e.getKeyValue());
                        if (card != null) up(card);
                    }
                    case DELETE -> down(e.getKeyValue().getKey().toString(StandardCharsets.UTF_8).substring(prefix.length()));
                    default -> { }
                }
            }
        }

        private void up(ModelCard card) {
            if (card.equals(known.put(card.workerId(), card))) return;
            listener.workerUp(card);
        }

        private void down(String id) {
            if (known.remove(id) != null) listener.workerDown(id);
        }

        private ModelCard parse(KeyValue kv) {
            String k = kv.getKey().toString(StandardCharsets.UTF_8);
            try {
                ModelCard card = RuntimeCodec.cardFromJson(kv.getValue().toString(StandardCharsets.UTF_8));
                if (!k.equals(prefix + card.workerId())) throw new IllegalArgumentException("its key does not name its worker id");
                return card;
            } catch (RuntimeException e) {
                LOG.warning(() -> "ignoring an unreadable model card at " + k + ": " + e.getMessage());
                return null;
            }
        }

        @Override
        public void close() {
            stopped = true;
            later(() -> {
                if (watcher != null) watcher.close();
            }, 0);
        }
    }

    static String rootMessage(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
