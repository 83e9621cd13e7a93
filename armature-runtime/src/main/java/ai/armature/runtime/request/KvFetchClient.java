package ai.armature.runtime.request;

import ai.armature.runtime.TlsFiles;
import ai.armature.runtime.proto.FetchKvRequest;
import ai.armature.runtime.proto.KvChunk;
import ai.armature.runtime.proto.ReleaseKvRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The decode side of KV transfers over the request plane: pulls the blocks a prefill worker holds ({@code FetchKv})
 * in chunks, with flow control (a chunk is requested from the transport only when the previous one was handled,
 * with one more in flight to hide the hop, so a slow import pushes back on the sender instead of filling memory),
 * within a deadline that bounds the whole call. One channel per worker address, reused. Thread-safe.
 */
public final class KvFetchClient implements AutoCloseable {

    /** Chunks asked for ahead of the one being handled. */
    private static final int WINDOW = 2;

    /** TLS to the workers (null: plaintext) and the chunk size to ask for. */
    public record Options(TlsFiles tls, int maxChunkBytes) {
        public Options {
            if (maxChunkBytes < 1 || maxChunkBytes > GrpcWorkerServer.MAX_KV_CHUNK_BYTES) {
                throw new IllegalArgumentException("the KV chunk size must be in [1, " + GrpcWorkerServer.MAX_KV_CHUNK_BYTES + "] bytes, got " + maxChunkBytes);
            }
        }

        public static Options plaintext() {
            return new Options(null, GrpcWorkerServer.DEFAULT_KV_CHUNK_BYTES);
        }
    }

    /** Takes one received chunk: the encoded payload of blocks {@code [firstBlock, firstBlock + count)}. */
    public interface ChunkHandler {
        void accept(int firstBlock, int count, byte[] payload);
    }

    /** A fetch that did not complete; {@code blocksReceived} were handled before. */
    public static final class FetchFailed extends Exception {
        private final int blocksReceived;

        FetchFailed(String message, int blocksReceived, Throwable cause) {
            super(message, cause);
            this.blocksReceived = blocksReceived;
        }

        public int blocksReceived() {
            return blocksReceived;
        }
    }

    private final Options options;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public KvFetchClient(Options options) {
        this.options = options;
    }

    private ManagedChannel channel(String address) {
        if (closed) throw new IllegalStateException("the KV fetch client is closed");
        return channels.computeIfAbsent(address, a -> {
            NettyChannelBuilder b = NettyChannelBuilder.forTarget(a).directExecutor()
                    .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(10, TimeUnit.SECONDS)
                    .maxInboundMessageSize(options.maxChunkBytes() + (1 << 20));
            if (options.tls() != null) {
                try {
                    b.sslContext(options.tls().grpcClient());
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot set up TLS to " + a + ": " + e.getMessage(), e);
                }
            } else {
                b.usePlaintext();
            }
            return b.build();
        });
    }

    /**
     * Fetches held blocks {@code [fromBlock, fromBlock + maxBlocks)} of transfer {@code transferId} from the worker at
     * {@code address}, handing each chunk to {@code handler} on this thread in order; returns how many blocks arrived
     * (all the worker holds in the range). Throws {@link FetchFailed} if the worker is unreachable, holds nothing
     * under the id, the stream breaks or ends short, the handler refuses a chunk, or {@code deadlineNanos} passes.
     */
    public int fetch(String address, String transferId, int fromBlock, int maxBlocks, ChunkHandler handler, long deadlineNanos)
            throws FetchFailed, InterruptedException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) throw new FetchFailed("the KV transfer from " + address + " timed out before it started", 0, null);
        ClientCall<FetchKvRequest, KvChunk> call = channel(address).newCall(WorkerService.FETCH_KV,
                CallOptions.DEFAULT.withDeadlineAfter(left, TimeUnit.NANOSECONDS));
        LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(KvChunk c) {
                queue.add(c);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                queue.add(status);
            }
        }, new Metadata());
        call.sendMessage(FetchKvRequest.newBuilder().setTransferId(transferId).setFromBlock(fromBlock).setMaxBlocks(maxBlocks)
                .setMaxChunkBytes(options.maxChunkBytes()).build());
        call.halfClose();
        call.request(WINDOW);
        int received = 0;
        int total = -1;
        boolean done = false;
        try {
            while (true) {
                long wait = deadlineNanos - System.nanoTime();
                Object o = wait <= 0 ? null : queue.poll(wait, TimeUnit.NANOSECONDS);
                if (o == null) throw new FetchFailed("the KV transfer from " + address + " timed out after " + received + " blocks", received, null);
                if (o instanceof Status s) {
                    done = true;
                    if (!s.isOk()) {
                        throw new FetchFailed("the KV transfer from " + address + " failed after " + received + " blocks: " + s.getCode()
                                + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")"), received, s.asRuntimeException());
                    }
                    if (total < 0 || received != total) {
                        throw new FetchFailed("the KV stream from " + address + " ended after " + received + " of " + Math.max(total, 0)
                                + " blocks", received, null);
                    }
                    return received;
                }
                KvChunk c = (KvChunk) o;
                if (total < 0) total = c.getTotalBlocks();
                if (c.getFirstBlock() != fromBlock + received || c.getBlockCount() < 0 || received + c.getBlockCount() > total) {
                    throw new FetchFailed("the KV stream from " + address + " sent blocks out of order", received, null);
                }
                if (c.getBlockCount() > 0) {
                    try {
                        handler.accept(c.getFirstBlock(), c.getBlockCount(), c.getData().toByteArray());
                    } catch (RuntimeException e) {
                        throw new FetchFailed("a KV chunk from " + address + " was refused: " + e.getMessage(), received, e);
                    }
                    received += c.getBlockCount();
                }
                call.request(1);
            }
        } finally {
            if (!done) call.cancel("the KV fetch ended", null);
        }
    }

    /** Tells the worker at {@code address} to drop hold {@code transferId} (best effort, in the background). */
    public void release(String address, String transferId) {
        try {
            ClientCalls.asyncUnaryCall(channel(address).newCall(WorkerService.RELEASE_KV, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS)),
                    ReleaseKvRequest.newBuilder().setTransferId(transferId).build(), new io.grpc.stub.StreamObserver<>() {
                        @Override
                        public void onNext(ai.armature.runtime.proto.ReleaseKvReply value) {
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
        } catch (RuntimeException e) {
            // the hold expires on its own
        }
    }

    @Override
    public void close() {
        closed = true;
        for (ManagedChannel c : channels.values()) c.shutdownNow();
        channels.clear();
    }
}
