package ai.armature.runtime.request;

import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.runtime.RuntimeCodec;
import ai.armature.runtime.TlsFiles;
import ai.armature.runtime.proto.Accepted;
import ai.armature.runtime.proto.GenerateEvent;
import ai.armature.runtime.proto.Heartbeat;
import ai.armature.runtime.proto.TokenizerChunk;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import ai.armature.runtime.proto.FetchKvRequest;
import ai.armature.runtime.proto.KvChunk;
import ai.armature.runtime.proto.ReleaseKvReply;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * A worker's request plane: the gRPC {@code armature.v1.Worker} service over its {@link GenerationEngine}.
 * {@code Generate} submits the request (a refusal fails the call with a status and the reason in a trailer),
 * answers {@code Accepted}, then streams the engine's outputs, each sent only when the transport can take it (gRPC
 * flow control: a slow client backs up into this call, not into memory), with a heartbeat on streams that have
 * been quiet for {@code heartbeat} so that a client can tell a slow request from a hung worker. A cancelled call
 * (client gone, deadline passed) cancels the request in the engine, which frees its KV blocks. For a drain:
 * {@link #stopAccepting()} refuses new requests (UNAVAILABLE, so the client tries another worker),
 * {@link #awaitIdle} waits for those in flight, and {@link #handBack()} ends the rest with UNAVAILABLE so their
 * clients migrate them. Also {@code Stats}, {@code Snapshot}, {@code Tokenizer}, and for disaggregated serving
 * {@code FetchKv} / {@code ReleaseKv}: the KV blocks the worker holds for decode workers ({@link HeldKvSource}), streamed
 * in chunks under the client's flow control.
 */
public final class GrpcWorkerServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(GrpcWorkerServer.class.getName());
    private static final int TOKENIZER_CHUNK = 1 << 20;

    /** Where to listen, TLS (null: plaintext; with a CA: clients need certificates), and the heartbeat interval. */
    public record Config(String host, int port, TlsFiles tls, Duration heartbeat) {
    }

    private final String workerId;
    private final GenerationEngine engine;
    private final Supplier<CompletableFuture<KvCacheSnapshot>> snapshots;
    private final byte[] tokenizerBundle;
    private final String tokenizerSha256;
    private final Config config;
    private final HeldKvSource kvHolds;
    private final Map<Call, Boolean> calls = new ConcurrentHashMap<>();
    private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().daemon(true).name("armature-grpc-heartbeat").unstarted(r));
    private final Object idle = new Object();
    private volatile boolean accepting = true;
    private Server server;

    public GrpcWorkerServer(String workerId, GenerationEngine engine, Supplier<CompletableFuture<KvCacheSnapshot>> snapshots,
                            byte[] tokenizerBundle, String tokenizerSha256, Config config) {
        this(workerId, engine, snapshots, tokenizerBundle, tokenizerSha256, config, null);
    }

    /** As above; {@code kvHolds} serves the worker's held KV blocks to decode workers ({@code FetchKv}; null: none). */
    public GrpcWorkerServer(String workerId, GenerationEngine engine, Supplier<CompletableFuture<KvCacheSnapshot>> snapshots,
                            byte[] tokenizerBundle, String tokenizerSha256, Config config, HeldKvSource kvHolds) {
        this.kvHolds = kvHolds;
        this.workerId = workerId;
        this.engine = engine;
        this.snapshots = snapshots;
        this.tokenizerBundle = tokenizerBundle;
        this.tokenizerSha256 = tokenizerSha256;
        this.config = config;
    }

    /** Binds and starts serving; returns the bound port. */
    public synchronized int start() throws IOException {
        ServerServiceDefinition service = ServerServiceDefinition.builder(WorkerService.NAME)
                .addMethod(WorkerService.GENERATE, ServerCalls.asyncServerStreamingCall(this::generate))
                .addMethod(WorkerService.STATS, ServerCalls.asyncUnaryCall((req, obs) -> {
                    obs.onNext(RuntimeCodec.toProto(engine.stats()));
                    obs.onCompleted();
                }))
                .addMethod(WorkerService.SNAPSHOT, ServerCalls.asyncUnaryCall((req, obs) -> snapshots.get().whenComplete((s, t) -> {
                    if (t != null) obs.onError(Status.UNAVAILABLE.withDescription("no snapshot: " + t.getMessage()).asRuntimeException());
                    else {
                        obs.onNext(RuntimeCodec.toProto(s));
                        obs.onCompleted();
                    }
                })))
                .addMethod(WorkerService.TOKENIZER, ServerCalls.asyncServerStreamingCall(this::tokenizer))
                .addMethod(WorkerService.FETCH_KV, ServerCalls.asyncServerStreamingCall(this::fetchKv))
                .addMethod(WorkerService.RELEASE_KV, ServerCalls.asyncUnaryCall((req, obs) -> {
                    if (kvHolds != null) kvHolds.release(req.getTransferId());
                    obs.onNext(ReleaseKvReply.getDefaultInstance());
                    obs.onCompleted();
                }))
                .build();
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()))
                .addService(service)
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .permitKeepAliveTime(1, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        if (config.tls() != null) b.sslContext(config.tls().grpcServer());
        server = b.build().start();
        long every = Math.max(1, config.heartbeat().toMillis());
        heartbeats.scheduleAtFixedRate(this::heartbeat, every, every, TimeUnit.MILLISECONDS);
        return server.getPort();
    }

    public int port() {
        return server.getPort();
    }

    /** Requests running on this server now. */
    public int inFlight() {
        return calls.size();
    }

    /** Refuses new requests from now on (UNAVAILABLE: the client's dispatcher tries another worker). */
    public void stopAccepting() {
        accepting = false;
    }

    /** Waits until no request is in flight or {@code timeout} passes; returns whether it became idle. */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (idle) {
            while (!calls.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                idle.wait(Math.max(1, left / 1_000_000));
            }
        }
        return true;
    }

    /** Ends every running request with UNAVAILABLE so its client migrates it, and cancels it here. Returns how many. */
    public int handBack() {
        int n = 0;
        for (Call c : calls.keySet()) {
            if (c.fail(Status.UNAVAILABLE.withDescription("worker " + workerId + " is draining: the request is handed back for migration"))) n++;
        }
        return n;
    }

    private void generate(ai.armature.runtime.proto.GenerateRequest proto, StreamObserver<GenerateEvent> observer) {
        ServerCallStreamObserver<GenerateEvent> obs = (ServerCallStreamObserver<GenerateEvent>) observer;
        if (!accepting) {
            obs.onError(rejection(new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN,
                    "worker " + workerId + " is draining: send the request to another worker")));
            return;
        }
        GenerationStream stream;
        try {
            GenerateRequest request = RuntimeCodec.fromProto(proto);
            stream = engine.submit(request);
        } catch (RequestRejectedException e) {
            obs.onError(rejection(e));
            return;
        } catch (IllegalArgumentException e) {
            obs.onError(rejection(new RequestRejectedException(RequestRejectedException.Reason.INVALID, e.getMessage())));
            return;
        }
        Call call = new Call(obs, stream);
        calls.put(call, Boolean.TRUE);
        obs.setOnCancelHandler(call::cancelled);
        obs.setOnReadyHandler(call::ready);
        call.send(GenerateEvent.newBuilder().setAccepted(Accepted.getDefaultInstance()).build(), false);
        Thread.ofVirtual().name("armature-grpc-" + stream.requestId()).start(call::pump);
    }

    private void tokenizer(ai.armature.runtime.proto.TokenizerRequest req, StreamObserver<TokenizerChunk> obs) {
        if (tokenizerBundle == null || !req.getSha256().equals(tokenizerSha256)) {
            obs.onError(Status.NOT_FOUND.withDescription("this worker serves the tokenizer " + tokenizerSha256 + ", not " + req.getSha256())
                    .asRuntimeException());
            return;
        }
        for (int off = 0; off < tokenizerBundle.length || off == 0; off += TOKENIZER_CHUNK) {
            int len = Math.min(TOKENIZER_CHUNK, tokenizerBundle.length - off);
            obs.onNext(TokenizerChunk.newBuilder().setData(ByteString.copyFrom(tokenizerBundle, off, len))
                    .setTotalBytes(tokenizerBundle.length).build());
            if (tokenizerBundle.length == 0) break;
        }
        obs.onCompleted();
    }

    private void fetchKv(FetchKvRequest req, StreamObserver<KvChunk> observer) {
        ServerCallStreamObserver<KvChunk> obs = (ServerCallStreamObserver<KvChunk>) observer;
        if (kvHolds == null) {
            obs.onError(Status.UNIMPLEMENTED.withDescription("worker " + workerId + " holds no KV blocks for transfers").asRuntimeException());
            return;
        }
        KvSend send = new KvSend(obs, req);
        obs.setOnCancelHandler(send::cancelled);
        obs.setOnReadyHandler(send::ready);
        Thread.ofVirtual().name("armature-grpc-kv-" + req.getTransferId()).start(send::run);
    }

    /** The largest chunk sent, whatever a client asks for (a message must fit the receiver's limit). */
    static final int MAX_KV_CHUNK_BYTES = 16 << 20;
    static final int DEFAULT_KV_CHUNK_BYTES = 4 << 20;

    /**
     * One FetchKv call: claims the hold, then sends its blocks chunk by chunk, each only when the transport can take
     * it (the client requests chunks as it writes them: flow control end to end), and releases the hold at the end.
     */
    private final class KvSend {
        private final ServerCallStreamObserver<KvChunk> obs;
        private final FetchKvRequest req;
        private boolean cancelled;

        KvSend(ServerCallStreamObserver<KvChunk> obs, FetchKvRequest req) {
            this.obs = obs;
            this.req = req;
        }

        void run() {
            HeldKvSource.Held held;
            try {
                held = kvHolds.claim(req.getTransferId());
            } catch (InterruptedException e) {
                fail(Status.UNAVAILABLE.withDescription("worker " + workerId + " is shutting down"));
                return;
            }
            if (held == null) {
                fail(Status.NOT_FOUND.withDescription("worker " + workerId + " holds no KV blocks for transfer " + req.getTransferId()
                        + " (expired, already fetched, or never prefilled here)"));
                return;
            }
            try (held) {
                int from = Math.max(0, req.getFromBlock());
                int end = (int) Math.min(held.count(), (long) from + Math.max(0, req.getMaxBlocks()));
                int total = Math.max(0, end - from);
                long chunkBytes = req.getMaxChunkBytes() <= 0 ? DEFAULT_KV_CHUNK_BYTES : Math.min(req.getMaxChunkBytes(), MAX_KV_CHUNK_BYTES);
                int perChunk = (int) Math.max(1, chunkBytes / held.blockBytes());
                int at = from;
                do {
                    int n = Math.max(0, Math.min(perChunk, end - at));
                    if (!awaitReady()) return;
                    KvChunk.Builder c = KvChunk.newBuilder().setFirstBlock(at).setBlockCount(n);
                    if (at == from) c.setTotalBlocks(total);
                    if (n > 0) c.setData(UnsafeByteOperations.unsafeWrap(held.read(at, n)));
                    synchronized (this) {
                        if (cancelled) return;
                        obs.onNext(c.build());
                    }
                    at += n;
                } while (at < end);
                synchronized (this) {
                    if (!cancelled) obs.onCompleted();
                }
            } catch (RuntimeException e) {
                LOG.warning(() -> "worker " + workerId + ": sending the KV blocks of transfer " + req.getTransferId() + " failed: " + e);
                fail(Status.INTERNAL.withDescription("worker " + workerId + " failed to read the held KV blocks: " + e.getMessage()));
            }
        }

        private synchronized boolean awaitReady() {
            try {
                while (!cancelled && !obs.isReady()) wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            return !cancelled;
        }

        private synchronized void fail(Status status) {
            if (cancelled) return;
            cancelled = true;
            try {
                obs.onError(status.asRuntimeException());
            } catch (RuntimeException e) {
                // the client is gone
            }
        }

        synchronized void cancelled() {
            cancelled = true;
            notifyAll();
        }

        synchronized void ready() {
            notifyAll();
        }
    }

    private static io.grpc.StatusRuntimeException rejection(RequestRejectedException e) {
        Status status = switch (e.reason()) {
            case INVALID -> Status.INVALID_ARGUMENT;
            case PROMPT_TOO_LONG -> Status.OUT_OF_RANGE;
            case QUEUE_FULL -> Status.RESOURCE_EXHAUSTED;
            case SHUTTING_DOWN -> Status.UNAVAILABLE;
        };
        Metadata trailers = new Metadata();
        trailers.put(WorkerService.REJECT_REASON, e.reason().name());
        return status.withDescription(e.getMessage()).asRuntimeException(trailers);
    }

    private void heartbeat() {
        long now = System.nanoTime();
        long every = config.heartbeat().toNanos();
        for (Call c : calls.keySet()) {
            if (now - c.lastSentNanos >= every) c.send(HEARTBEAT, true);
        }
    }

    private static final GenerateEvent HEARTBEAT = GenerateEvent.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();

    private void ended(Call c) {
        calls.remove(c);
        synchronized (idle) {
            if (calls.isEmpty()) idle.notifyAll();
        }
    }

    /** Stops the server at once (a drain has handed everything back before). */
    @Override
    public synchronized void close() {
        accepting = false;
        heartbeats.shutdownNow();
        handBack();
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(2, TimeUnit.SECONDS)) server.shutdownNow();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                server.shutdownNow();
            }
        }
    }

    /** One Generate call: the observer is used under this object's lock (gRPC observers are not thread-safe). */
    private final class Call {
        private final ServerCallStreamObserver<GenerateEvent> obs;
        private final GenerationStream stream;
        private volatile long lastSentNanos = System.nanoTime();
        private boolean done;

        Call(ServerCallStreamObserver<GenerateEvent> obs, GenerationStream stream) {
            this.obs = obs;
            this.stream = stream;
        }

        /** Reads the engine's outputs and sends each when the transport is ready for it. */
        void pump() {
            try {
                GenerateOutput out;
                while ((out = stream.next()) != null) {
                    GenerateEvent e = GenerateEvent.newBuilder().setOutput(RuntimeCodec.toProto(out)).build();
                    synchronized (this) {
                        while (!done && !obs.isReady()) wait(100);
                        if (done) break;
                    }
                    send(e, false);
                    if (out.finished()) {
                        complete();
                        break;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail(Status.UNAVAILABLE.withDescription("worker " + workerId + " is shutting down"));
            } catch (RuntimeException e) {
                LOG.warning(() -> "failed to stream request " + stream.requestId() + ": " + e);
                fail(Status.INTERNAL.withDescription("worker " + workerId + " failed to stream the request: " + e.getMessage()));
            } finally {
                synchronized (this) {
                    done = true;
                }
                stream.close();
                ended(this);
            }
        }

        synchronized void send(GenerateEvent e, boolean onlyIfReady) {
            if (done || onlyIfReady && !obs.isReady()) return;
            try {
                obs.onNext(e);
                lastSentNanos = System.nanoTime();
            } catch (RuntimeException ex) {
                done = true; // the call was cancelled under us
            }
        }

        private synchronized void complete() {
            if (done) return;
            done = true;
            obs.onCompleted();
        }

        /** Ends the call with {@code status} unless it already ended; cancels the engine request. */
        boolean fail(Status status) {
            synchronized (this) {
                if (done) return false;
                done = true;
                try {
                    obs.onError(status.asRuntimeException());
                } catch (RuntimeException e) {
                    // already cancelled by the client
                }
                notifyAll();
            }
            stream.close();
            return true;
        }

        void cancelled() {
            synchronized (this) {
                done = true;
                notifyAll();
            }
            stream.close();
        }

        synchronized void ready() {
            notifyAll();
        }
    }
}
