package ai.armature.serving.disagg;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import ai.armature.protocol.kv.KvTransfer;
import ai.armature.serving.runner.KvBlocks;

/**
 * The KV transport between workers of one process: the source worker's held blocks are exported chunk by chunk and
 * written into the decode worker's reserved blocks, a copy between the two pools (no encoding, no checksum: nothing
 * leaves memory). Workers are found by id ({@link #register}). Thread-safe.
 */
public final class InProcessKvTransport implements KvTransport {

    /** At most this many bytes per chunk, so a long prompt never needs one huge heap array. */
    static final long CHUNK_BYTES = 64L << 20;

    private final Map<String, KvHoldSource> sources = new ConcurrentHashMap<>();

    /** Makes worker {@code workerId}'s holds reachable. */
    public void register(String workerId, KvHoldSource source) {
        sources.put(workerId, source);
    }

    public void unregister(String workerId) {
        sources.remove(workerId);
    }

    @Override
    public int fetch(KvTransfer.Fetch source, int fromBlock, int maxBlocks, Consumer<KvBlocks> sink, long deadlineNanos)
            throws KvTransferException, InterruptedException {
        KvHoldSource worker = sources.get(source.sourceWorkerId());
        if (worker == null) throw new KvTransferException("no worker " + source.sourceWorkerId() + " in this process", 0);
        KvHoldSource.HeldBlocks held = worker.claim(source.transferId());
        if (held == null) {
            throw new KvTransferException("worker " + source.sourceWorkerId() + " holds no KV blocks for transfer "
                    + source.transferId() + " (expired, or it is shut down)", 0);
        }
        int received = 0;
        try (held) {
            int end = Math.min(held.count(), fromBlock + Math.max(0, maxBlocks));
            int perChunk = (int) Math.max(1, Math.min(Integer.MAX_VALUE, CHUNK_BYTES / held.layout().blockBytes()));
            for (int at = fromBlock; at < end; ) {
                if (Thread.interrupted()) throw new InterruptedException();
                if (System.nanoTime() - deadlineNanos > 0) {
                    throw new KvTransferException("the KV transfer from " + source.sourceWorkerId() + " timed out", received);
                }
                int n = Math.min(perChunk, end - at);
                try {
                    sink.accept(held.read(at, n));
                } catch (RuntimeException e) {
                    throw new KvTransferException("the KV transfer from " + source.sourceWorkerId() + " failed: " + e.getMessage(), received, e);
                }
                at += n;
                received += n;
            }
        }
        return received;
    }

    @Override
    public void release(KvTransfer.Fetch source) {
        KvHoldSource worker = sources.get(source.sourceWorkerId());
        if (worker != null) worker.release(source.transferId());
    }
}
