package ai.armature.runtime.events;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.RuntimeCodec;
import ai.armature.runtime.proto.WorkerEvents;
import com.google.protobuf.InvalidProtocolBufferException;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.Nats;
import io.nats.client.Options;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.logging.Logger;

/**
 * The event plane on NATS (jnats): one subject per namespace and model, {@code armature.NAMESPACE.MODEL.events},
 * carrying {@link WorkerEvents} messages (a worker's KV events in id order, batched per flush, load reports and
 * traffic counts; frontends' held-request counts), and one, {@code armature.NAMESPACE.MODEL.routers}, for the
 * messages the model's router replicas exchange.
 * Connecting fails at once if NATS is unreachable or refuses the credentials or certificate; once connected, the
 * connection reconnects forever; while NATS is away jnats buffers what is published and sends it on
 * reconnection, and re-subscribes. Events that still get lost (the buffer overflowed) leave a gap in the ids,
 * which subscribers repair from the worker's snapshot.
 */
public final class NatsEventPlane implements EventPlane {

    private static final Logger LOG = Logger.getLogger(NatsEventPlane.class.getName());
    /** Most KV events in one message: keeps messages well under NATS's default 1 MiB payload limit. */
    private static final int MAX_EVENTS_PER_MESSAGE = 1024;

    private final Connection connection;
    private final String namespace;

    public NatsEventPlane(PlaneUrl url, String namespace, String connectionName) throws IOException, InterruptedException {
        this.namespace = token(namespace);
        Options.Builder b = Options.builder().servers(url.serverUrls("nats", "tls").toArray(String[]::new))
                .connectionName(connectionName).maxReconnects(-1).reconnectWait(Duration.ofMillis(250))
                .connectionTimeout(Duration.ofSeconds(3)).connectionListener(new Logged());
        if (url.user() != null && url.password() == null) b.token(url.user().toCharArray());
        else if (url.user() != null) b.userInfo(url.user(), url.password());
        if (url.secure()) {
            try {
                b.sslContext(url.tls().javaClient());
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot set up TLS for NATS: " + e.getMessage(), e);
            }
        }
        try {
            // The first connection must succeed: a wrong credential or certificate is an error now, not a silent retry loop.
            this.connection = Nats.connect(b.build());
        } catch (IOException e) {
            throw new IOException("cannot connect to NATS at " + url + ": " + e.getMessage(), e);
        }
    }

    /** The subject of one model's events. */
    public String subject(String servedModelName) {
        return "armature." + namespace + "." + token(servedModelName) + ".events";
    }

    /** The subject the routers of one model exchange their load events on. */
    public String routerSubject(String servedModelName) {
        return "armature." + namespace + "." + token(servedModelName) + ".routers";
    }

    @Override
    public void publishRouterEvent(String servedModelName, byte[] payload) {
        connection.publish(routerSubject(servedModelName), payload);
    }

    @Override
    public AutoCloseable subscribeRouterEvents(String servedModelName, java.util.function.Consumer<byte[]> listener) {
        Dispatcher d = connection.createDispatcher(msg -> listener.accept(msg.getData()));
        d.subscribe(routerSubject(servedModelName));
        // Registered at the server before returning: a replica's first events would otherwise pass it by.
        try {
            connection.flush(Duration.ofSeconds(5));
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warning("the NATS server did not confirm the router subscription of model '" + servedModelName + "' within 5 s; load events may be missed until it does");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return () -> connection.closeDispatcher(d);
    }

    /** A subject token for any name: kept if it is only letters, digits, '-' and '_', else sanitised and hashed. */
    static String token(String name) {
        if (name.matches("[A-Za-z0-9_-]+")) return name;
        String clean = name.replaceAll("[^A-Za-z0-9_-]", "_");
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return clean + "-" + HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public WorkerEventPublisher publisher(String servedModelName, String workerId) {
        return new NatsPublisher(subject(servedModelName), workerId);
    }

    @Override
    public AutoCloseable subscribe(String servedModelName, WorkerEventsListener listener) {
        Dispatcher d = connection.createDispatcher(msg -> {
            WorkerEvents m;
            List<KvEvent> events;
            try {
                m = WorkerEvents.parseFrom(msg.getData());
                events = new ArrayList<>(m.getKvEventsCount());
                for (var e : m.getKvEventsList()) events.add(RuntimeCodec.fromProto(e));
            } catch (InvalidProtocolBufferException | RuntimeException e) {
                LOG.warning(() -> "ignoring an unreadable event message on " + msg.getSubject() + ": " + e.getMessage());
                return;
            }
            if (!events.isEmpty()) listener.kvEvents(m.getWorkerId(), List.copyOf(events));
            if (m.hasLoad()) listener.load(m.getWorkerId(), RuntimeCodec.fromProto(m.getLoad()));
            if (m.hasTraffic()) {
                TrafficCounters t;
                try {
                    t = RuntimeCodec.fromProto(m.getTraffic());
                } catch (RuntimeException e) {
                    LOG.warning(() -> "ignoring traffic counts of " + m.getWorkerId() + ": " + e.getMessage());
                    t = null;
                }
                if (t != null) listener.traffic(m.getWorkerId(), t);
            }
            if (m.hasHeldRequests()) listener.held(m.getWorkerId(), m.getHeldRequests());
        });
        d.subscribe(subject(servedModelName));
        return () -> connection.closeDispatcher(d);
    }

    /** Waits (up to {@code timeout}) until the server has processed everything sent so far, subscriptions included. */
    public void flush(Duration timeout) throws java.util.concurrent.TimeoutException, InterruptedException {
        connection.flush(timeout);
    }

    /** Whether the connection is up now. */
    public boolean connected() {
        return connection.getStatus() == Connection.Status.CONNECTED;
    }

    @Override
    public void close() {
        try {
            connection.flush(Duration.ofSeconds(2));
        } catch (Exception e) {
            // closing anyway
        }
        try {
            connection.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Queues KV events from the engine thread; a virtual thread sends them in batches, in order. */
    final class NatsPublisher implements WorkerEventPublisher {
        private final String subject;
        private final String workerId;
        private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        private final Thread sender;
        private volatile boolean closed;

        NatsPublisher(String subject, String workerId) {
            this.subject = subject;
            this.workerId = workerId;
            this.sender = Thread.ofVirtual().name("armature-events-" + workerId).start(this::run);
        }

        @Override
        public void publish(KvEvent event) {
            queue.add(event);
        }

        @Override
        public void publishLoad(EngineStats load) {
            queue.add(load);
        }

        @Override
        public void publishTraffic(TrafficCounters traffic) {
            queue.add(traffic);
        }

        @Override
        public void publishHeld(int heldRequests) {
            queue.add(new Held(heldRequests));
        }

        private void run() {
            List<Object> batch = new ArrayList<>();
            try {
                while (!closed || !queue.isEmpty()) {
                    Object first = queue.take();
                    if (first == STOP) break;
                    batch.add(first);
                    queue.drainTo(batch, MAX_EVENTS_PER_MESSAGE - 1);
                    send(batch);
                    batch.clear();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void send(List<Object> batch) {
            WorkerEvents.Builder m = WorkerEvents.newBuilder().setWorkerId(workerId);
            boolean stopSeen = false;
            for (Object o : batch) {
                if (o instanceof KvEvent e) m.addKvEvents(RuntimeCodec.toProto(e));
                else if (o instanceof EngineStats s) m.setLoad(RuntimeCodec.toProto(s));
                else if (o instanceof TrafficCounters t) m.setTraffic(RuntimeCodec.toProto(t));
                else if (o instanceof Held h) m.setHeldRequests(h.requests());
                else stopSeen = true;
            }
            if (m.getKvEventsCount() > 0 || m.hasLoad() || m.hasTraffic() || m.hasHeldRequests()) publish(m);
            if (stopSeen) closed = true;
        }

        /** Messages and KV events dropped since the last one that went out. */
        private long droppedMessages, droppedEvents;
        /** Messages dropped since this publisher started. */
        private final java.util.concurrent.atomic.AtomicLong droppedTotal = new java.util.concurrent.atomic.AtomicLong();

        /** Messages dropped because NATS could not take them, since this publisher started. */
        long droppedMessages() {
            return droppedTotal.get();
        }

        private void publish(WorkerEvents.Builder m) {
            try {
                connection.publish(subject, m.build().toByteArray());
            } catch (IllegalStateException e) {
                // The client refuses a publish once its reconnect buffer is full (a long NATS outage) or the connection
                // is closed. The sender must outlive that, or this worker would never publish again: routers see the
                // dropped event ids as a gap and resync this worker from a snapshot, and a newer load report replaces
                // a dropped one.
                if (droppedMessages++ == 0) {
                    LOG.warning("worker " + workerId + ": dropping events while NATS cannot take them (" + e.getMessage()
                            + "); routers resync this worker from a snapshot");
                }
                droppedEvents += m.getKvEventsCount();
                droppedTotal.incrementAndGet();
                return;
            }
            if (droppedMessages > 0) {
                LOG.info("worker " + workerId + ": publishing events again after dropping " + droppedMessages + " messages ("
                        + droppedEvents + " KV events)");
                droppedMessages = 0;
                droppedEvents = 0;
            }
        }

        @Override
        public void close() {
            closed = true;
            queue.add(STOP);
            try {
                sender.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static final Object STOP = new Object();

    /** A frontend's held-request count, queued like the rest. */
    private record Held(int requests) {
    }

    /** One log line per connection change, for operators. */
    private static final class Logged implements ConnectionListener {
        @Override
        public void connectionEvent(Connection conn, Events type) {
            switch (type) {
                case DISCONNECTED -> LOG.warning("disconnected from NATS; reconnecting (events are buffered meanwhile)");
                case RECONNECTED -> LOG.info("reconnected to NATS at " + conn.getConnectedUrl());
                case CONNECTED -> LOG.fine(() -> "connected to NATS at " + conn.getConnectedUrl());
                default -> { }
            }
        }
    }
}
