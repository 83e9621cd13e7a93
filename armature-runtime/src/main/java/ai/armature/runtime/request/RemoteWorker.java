package ai.armature.runtime.request;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.WorkerLostException;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.runtime.RuntimeCodec;
import ai.armature.runtime.TlsFiles;
import ai.armature.runtime.proto.GenerateEvent;
import ai.armature.runtime.proto.SnapshotRequest;
import ai.armature.runtime.proto.StatsRequest;
import ai.armature.runtime.proto.TokenizerChunk;
import ai.armature.runtime.proto.TokenizerRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * A worker in another process, over its gRPC request plane, as a {@link GenerationEngine}. {@link #submit} waits
 * for the worker's {@code Accepted} (so a refusal is a {@link RequestRejectedException} with the worker's reason,
 * and an unreachable worker a SHUTTING_DOWN refusal that a dispatcher answers by trying another); after that, a
 * broken stream, a worker that hands the request back, or one silent for longer than the inactivity timeout (no
 * output and no heartbeat: it hangs) makes {@link GenerationStream#next()} throw {@link WorkerLostException},
 * which request migration handles. Closing a stream early cancels the call, and with it the request in the
 * worker. Outputs are requested from the transport as they are consumed (flow control). {@link #stats()} is the
 * last load report the event plane delivered ({@link #updateLoad}). A worker that did not accept in time or went
 * silent is suspect (not {@link #healthy()}, so routers pass it by) until it answers a {@code Stats} call: probes
 * start {@link Options#firstProbe} after the mark and back off to {@value #MAX_PROBE_MS} ms, so a worker that was
 * paused (a long GC, SIGSTOP) is used again once it runs, without waiting for its lease to expire. The next probing
 * of a worker that is marked again starts where the last one ended until a request completes on it (one that
 * answers calls but hangs requests is not retried in a tight loop). Thread-safe.
 */
public final class RemoteWorker implements GenerationEngine {

    /** Messages requested ahead of the consumer: enough to hide a hop, few enough to push back on a slow client. */
    private static final int WINDOW = 16;

    /** The longest wait between two probes of a suspect worker. */
    static final long MAX_PROBE_MS = 10_000;

    /** A daemon thread that only schedules probes (the calls themselves are asynchronous). */
    private static final ScheduledExecutorService PROBES = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon(true).name("armature-worker-probe").unstarted(r));

    private static final Logger LOG = Logger.getLogger(RemoteWorker.class.getName());

    /**
     * How long an answer may take (submit, stats, snapshot), how long a running stream may stay silent, TLS, and how
     * soon a suspect worker is first probed.
     */
    public record Options(Duration rpcTimeout, Duration inactivityTimeout, TlsFiles tls, Duration firstProbe) {
        public Options(Duration rpcTimeout, Duration inactivityTimeout, TlsFiles tls) {
            this(rpcTimeout, inactivityTimeout, tls, Duration.ofSeconds(1));
        }
    }

    private final ModelCard card;
    private final Options options;
    private final ManagedChannel channel;
    private final Map<String, RemoteStream> streams = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile EngineStats load = new EngineStats(0, 0, 0, 0, 0, 0, 0);
    private volatile boolean suspect;
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile long probeDelayMs;
    private final AtomicInteger failedProbes = new AtomicInteger();
    private volatile boolean retiring;
    private volatile boolean closed;

    public RemoteWorker(ModelCard card, Options options) {
        this.card = card;
        this.options = options;
        this.probeDelayMs = Math.max(1, options.firstProbe().toMillis());
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(card.requestEndpoint())
                .directExecutor() // listeners only queue; no blocking on the transport threads
                .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(10, TimeUnit.SECONDS)
                .maxInboundMessageSize(16 << 20);
        if (card.requestTls() || options.tls() != null) {
            try {
                b.sslContext((options.tls() != null ? options.tls() : new TlsFiles(null, null, null)).grpcClient());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot set up TLS to worker " + card.workerId() + ": " + e.getMessage(), e);
            }
        } else {
            b.usePlaintext();
        }
        this.channel = b.build();
    }

    public ModelCard card() {
        return card;
    }

    public String workerId() {
        return card.workerId();
    }

    /** Requests this client has running on the worker. */
    public int inFlight() {
        return inFlight.get();
    }

    /** The worker's latest load report (from the event plane). */
    public void updateLoad(EngineStats stats) {
        this.load = stats;
    }

    /** Marks the worker as working again (it re-registered or answered). */
    public void clearSuspicion() {
        suspect = false;
    }

    /** Whether the worker is suspected of hanging (it is then probed until it answers). */
    public boolean suspect() {
        return suspect;
    }

    /** Probes of this worker that got no answer so far. */
    public int failedProbes() {
        return failedProbes.get();
    }

    /** Takes the worker out of routing until it answers a probe; starts probing unless a probe is already pending. */
    private void markSuspect(String why) {
        suspect = true;
        if (probing.compareAndSet(false, true)) {
            LOG.warning(() -> "worker " + card.workerId() + " " + why + ": not used until it answers (probing it, first in " + probeDelayMs + " ms)");
            scheduleProbe();
        }
    }

    private void scheduleProbe() {
        if (closed || retiring) {
            probing.set(false);
            return;
        }
        try {
            PROBES.schedule(this::probe, probeDelayMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            probing.set(false);
        }
    }

    private void probe() {
        if (closed || retiring || !suspect) {
            probing.set(false);
            return;
        }
        ClientCalls.asyncUnaryCall(channel.newCall(WorkerService.STATS,
                        CallOptions.DEFAULT.withDeadlineAfter(options.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS)),
                StatsRequest.getDefaultInstance(), new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(ai.armature.runtime.proto.EngineStats value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                        failedProbes.incrementAndGet();
                        probeDelayMs = Math.min(MAX_PROBE_MS, probeDelayMs * 2);
                        scheduleProbe();
                    }

                    @Override
                    public void onCompleted() {
                        suspect = false;
                        probing.set(false);
                        LOG.info(() -> "worker " + card.workerId() + " answers again: used for new requests");
                    }
                });
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        if (closed || retiring) {
            throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "worker " + card.workerId() + " has left");
        }
        ClientCall<ai.armature.runtime.proto.GenerateRequest, GenerateEvent> call = channel.newCall(WorkerService.GENERATE, CallOptions.DEFAULT);
        RemoteStream stream = new RemoteStream(request.requestId(), call);
        inFlight.incrementAndGet();
        streams.put(request.requestId(), stream);
        try {
            call.start(stream.listener, new Metadata());
            call.sendMessage(RuntimeCodec.toProto(request));
            call.halfClose();
            call.request(WINDOW);
            stream.accepted.get(options.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS);
            suspect = false;
            return stream;
        } catch (ExecutionException e) {
            stream.forget();
            if (e.getCause() instanceof RequestRejectedException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            call.cancel("the worker did not accept the request in time", null);
            stream.forget();
            markSuspect("did not accept a request within " + options.rpcTimeout().toMillis() + " ms");
            throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN,
                    "worker " + card.workerId() + " did not answer within " + options.rpcTimeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.cancel("interrupted", null);
            stream.forget();
            throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "interrupted while submitting");
        } catch (RuntimeException e) {
            call.cancel("failed to submit", e);
            stream.forget();
            throw e;
        }
    }

    @Override
    public void cancel(String requestId) {
        RemoteStream s = streams.get(requestId);
        if (s != null) s.close();
    }

    @Override
    public EngineStats stats() {
        return load;
    }

    /** The worker's counters now, by the {@code Stats} call. */
    public EngineStats fetchStats() {
        try {
            return RuntimeCodec.fromProto(ClientCalls.blockingUnaryCall(channel, WorkerService.STATS,
                    CallOptions.DEFAULT.withDeadlineAfter(options.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS),
                    StatsRequest.getDefaultInstance()));
        } catch (StatusRuntimeException e) {
            throw new IllegalStateException("worker " + card.workerId() + " gave no stats: " + describe(e.getStatus()), e);
        }
    }

    /** The worker's cached block hashes and last event id, by the {@code Snapshot} call. */
    public KvCacheSnapshot snapshot() {
        try {
            return RuntimeCodec.fromProto(ClientCalls.blockingUnaryCall(channel, WorkerService.SNAPSHOT,
                    CallOptions.DEFAULT.withDeadlineAfter(options.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS),
                    SnapshotRequest.getDefaultInstance()));
        } catch (StatusRuntimeException e) {
            throw new IllegalStateException("worker " + card.workerId() + " gave no snapshot: " + describe(e.getStatus()), e);
        }
    }

    /** The tokenizer bundle named by the card, fetched in chunks (it may be megabytes). */
    public byte[] fetchTokenizer() {
        try {
            Iterator<TokenizerChunk> chunks = ClientCalls.blockingServerStreamingCall(channel, WorkerService.TOKENIZER,
                    CallOptions.DEFAULT.withDeadlineAfter(Math.max(30_000, options.rpcTimeout().toMillis()), TimeUnit.MILLISECONDS),
                    TokenizerRequest.newBuilder().setSha256(card.tokenizerSha256()).build());
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(card.tokenizerBytes(), 256 << 20));
            while (chunks.hasNext()) {
                TokenizerChunk c = chunks.next();
                if (c.getTotalBytes() > (256 << 20)) throw new IllegalStateException("worker " + card.workerId() + " offers a tokenizer of " + c.getTotalBytes() + " bytes");
                c.getData().writeTo(out);
            }
            return out.toByteArray();
        } catch (StatusRuntimeException e) {
            throw new IllegalStateException("cannot fetch the tokenizer of worker " + card.workerId() + ": " + describe(e.getStatus()), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Healthy while reachable: not closed or leaving, not suspected of hanging, and its connection not failing (an
     * idle connection is asked to connect, so a worker that died is seen as soon as its port refuses).
     */
    @Override
    public boolean healthy() {
        return !closed && !retiring && !suspect && channel.getState(true) != ConnectivityState.TRANSIENT_FAILURE;
    }

    @Override
    public int maxContextTokens() {
        return card.contextLength();
    }

    /** The worker left discovery: no new requests; the connection closes once the running ones end. */
    public void retire() {
        retiring = true;
        if (inFlight.get() == 0) channel.shutdown();
    }

    @Override
    public void close() {
        closed = true;
        for (RemoteStream s : streams.values()) s.close();
        channel.shutdownNow();
    }

    /** A status as one line (its toString carries the cause's stack trace), saying which side a TLS failure is on. */
    private String describe(Status status) {
        Throwable cause = status.getCause();
        return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription())
                + (cause == null ? "" : " (" + cause.getMessage() + ")") + tlsHint(cause);
    }

    /** What an operator should check when {@code cause} is a failed TLS handshake, else "". */
    private String tlsHint(Throwable cause) {
        for (Throwable t = cause; t != null && t.getCause() != t; t = t.getCause()) {
            if (!(t instanceof javax.net.ssl.SSLException ssl)) continue;
            String m = String.valueOf(ssl.getMessage());
            if (m.contains("fatal alert")) {
                // The worker sent the alert: it did not accept this side's certificate (none, or not signed by its CA).
                return "; worker " + card.workerId() + " refused this process's TLS connection (" + m + "): it needs a client"
                        + " certificate signed by its --tls-ca (give this process --tls-cert and --tls-key)";
            }
            return "; this process could not verify worker " + card.workerId() + "'s TLS certificate (" + m
                    + "): give it the CA that signed the worker's certificate with --tls-ca";
        }
        return "";
    }

    private RequestRejectedException rejection(String workerId, Status status, Metadata trailers) {
        String reason = trailers == null ? null : trailers.get(WorkerService.REJECT_REASON);
        RequestRejectedException.Reason r;
        try {
            r = reason == null ? RequestRejectedException.Reason.SHUTTING_DOWN : RequestRejectedException.Reason.valueOf(reason);
        } catch (IllegalArgumentException e) {
            r = RequestRejectedException.Reason.SHUTTING_DOWN;
        }
        String message = reason != null && status.getDescription() != null ? status.getDescription()
                : "worker " + workerId + " is unreachable (" + describe(status) + ")";
        return new RequestRejectedException(r, message);
    }

    /** The end of a call that broke after it was accepted. */
    private record Lost(Status status) {
    }

    /** One request's outputs from the worker. */
    private final class RemoteStream implements GenerationStream {
        private final String requestId;
        private final ClientCall<ai.armature.runtime.proto.GenerateRequest, GenerateEvent> call;
        private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        final CompletableFuture<Void> accepted = new CompletableFuture<>();
        private volatile long lastHeardNanos = System.nanoTime();
        /**
         * When the consumer last gave the worker credit. A worker can only be blamed for silence since then: while the
         * consumer falls behind (a slow client, a busy frontend) the credit runs out and the worker must stop sending,
         * heartbeats included, so silence measured from the last message alone would call a working worker hung.
         */
        private long creditNanos = System.nanoTime();
        private volatile boolean finishedSeen;
        private boolean ended;
        private boolean forgotten;
        private int consumed;

        final ClientCall.Listener<GenerateEvent> listener = new ClientCall.Listener<>() {
            @Override
            public void onMessage(GenerateEvent e) {
                lastHeardNanos = System.nanoTime();
                switch (e.getKindCase()) {
                    case ACCEPTED -> {
                        accepted.complete(null);
                        call.request(1);
                    }
                    case OUTPUT -> {
                        GenerateOutput out;
                        try {
                            out = RuntimeCodec.fromProto(e.getOutput());
                        } catch (RuntimeException ex) {
                            call.cancel("unreadable output", ex);
                            return;
                        }
                        if (out.finished()) finishedSeen = true;
                        queue.add(out);
                    }
                    case HEARTBEAT, KIND_NOT_SET -> call.request(1);
                }
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                if (!accepted.isDone()) {
                    accepted.completeExceptionally(rejection(card.workerId(), status, trailers));
                } else if (!finishedSeen) {
                    queue.add(new Lost(status));
                }
            }
        };

        RemoteStream(String requestId, ClientCall<ai.armature.runtime.proto.GenerateRequest, GenerateEvent> call) {
            this.requestId = requestId;
            this.call = call;
        }

        @Override
        public String requestId() {
            return requestId;
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            if (ended) return null;
            long timeout = options.inactivityTimeout().toNanos();
            while (true) {
                long silentFor = System.nanoTime() - Math.max(lastHeardNanos, creditNanos);
                Object o = queue.poll(Math.max(1, timeout - silentFor), TimeUnit.NANOSECONDS);
                if (o == null) {
                    if (System.nanoTime() - Math.max(lastHeardNanos, creditNanos) < timeout) continue;
                    markSuspect("sent nothing for " + options.inactivityTimeout().toMillis() + " ms while running a request");
                    call.cancel("worker silent for " + options.inactivityTimeout().toMillis() + " ms", null);
                    end();
                    throw new WorkerLostException(card.workerId(), "worker " + card.workerId() + " sent nothing for "
                            + options.inactivityTimeout().toMillis() + " ms while running request " + requestId + " (it hangs)", null);
                }
                if (o instanceof Lost(Status status)) {
                    end();
                    throw new WorkerLostException(card.workerId(), "lost worker " + card.workerId() + " while it ran request " + requestId
                            + " (" + describe(status) + ")",
                            status.asRuntimeException());
                }
                GenerateOutput out = (GenerateOutput) o;
                if (out.finished()) {
                    probeDelayMs = Math.max(1, options.firstProbe().toMillis()); // it completes requests: start over next time
                    end();
                } else if (++consumed == WINDOW / 2) {
                    // Credit goes back in halves: one transport task per 8 messages instead of one per token.
                    consumed = 0;
                    creditNanos = System.nanoTime();
                    call.request(WINDOW / 2);
                }
                return out;
            }
        }

        private synchronized void end() {
            ended = true;
            forget();
        }

        synchronized void forget() {
            if (forgotten) return;
            forgotten = true;
            streams.remove(requestId, this);
            if (inFlight.decrementAndGet() == 0 && retiring) channel.shutdown();
        }

        @Override
        public void close() {
            if (!finishedSeen) call.cancel("the client closed the stream", null);
            end();
        }
    }
}
