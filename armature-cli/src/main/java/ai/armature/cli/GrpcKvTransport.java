package ai.armature.cli;

import java.util.function.Consumer;

import ai.armature.protocol.kv.KvTransfer;
import ai.armature.runtime.request.HeldKvSource;
import ai.armature.runtime.request.KvFetchClient;
import ai.armature.serving.disagg.KvHoldSource;
import ai.armature.serving.disagg.KvTransferException;
import ai.armature.serving.disagg.KvTransport;
import ai.armature.serving.runner.KvBlocks;

/**
 * KV transfers between worker processes over the runtime's request plane: the serving worker's {@link KvTransport}
 * on top of {@link KvFetchClient} (each chunk is an encoded {@link KvBlocks} payload, checked on arrival: checksum,
 * layout, count), and {@link #serve} the other way, a worker's holds as its gRPC server streams them. The request
 * plane only moves bytes; what they mean is the worker's.
 */
final class GrpcKvTransport implements KvTransport {

    private final KvFetchClient client;

    GrpcKvTransport(KvFetchClient client) {
        this.client = client;
    }

    @Override
    public int fetch(KvTransfer.Fetch source, int fromBlock, int maxBlocks, Consumer<KvBlocks> sink, long deadlineNanos)
            throws KvTransferException, InterruptedException {
        if (source.sourceAddress().isEmpty()) {
            throw new KvTransferException("transfer " + source.transferId() + " names no address for worker " + source.sourceWorkerId(), 0);
        }
        try {
            return client.fetch(source.sourceAddress(), source.transferId(), fromBlock, maxBlocks, (first, count, payload) -> {
                KvBlocks b = KvBlocks.decode(payload);
                if (b.count() != count) {
                    throw new IllegalArgumentException("a KV chunk says " + count + " blocks but holds " + b.count());
                }
                sink.accept(b);
            }, deadlineNanos);
        } catch (KvFetchClient.FetchFailed e) {
            throw new KvTransferException(e.getMessage(), e.blocksReceived(), e);
        }
    }

    @Override
    public void release(KvTransfer.Fetch source) {
        if (!source.sourceAddress().isEmpty()) client.release(source.sourceAddress(), source.transferId());
    }

    /** A worker's holds as its request plane serves them: blocks read from the engine and encoded per chunk. */
    static HeldKvSource serve(KvHoldSource holds) {
        return new HeldKvSource() {
            @Override
            public Held claim(String transferId) throws InterruptedException {
                KvHoldSource.HeldBlocks h = holds.claim(transferId);
                if (h == null) return null;
                return new Held() {
                    @Override
                    public int count() {
                        return h.count();
                    }

                    @Override
                    public long blockBytes() {
                        return h.layout().blockBytes();
                    }

                    @Override
                    public byte[] read(int from, int count) {
                        return h.read(from, count).encode();
                    }

                    @Override
                    public void close() {
                        h.close();
                    }
                };
            }

            @Override
            public void release(String transferId) {
                holds.release(transferId);
            }
        };
    }
}
