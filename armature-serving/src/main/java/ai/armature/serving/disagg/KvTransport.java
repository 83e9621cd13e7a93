package ai.armature.serving.disagg;

import java.util.function.Consumer;

import ai.armature.protocol.kv.KvTransfer;
import ai.armature.serving.runner.KvBlocks;

/**
 * How a decode worker pulls the K/V a prefill worker holds for one of its requests (see {@link KvTransfer}). In one
 * process, {@link InProcessKvTransport} copies between the two workers' pools; across processes, a chunked stream
 * over the runtime's request plane with flow control. An RDMA-class transport would implement the same two calls
 * by reading the remote blocks directly into the reserved ones. Implementations are thread-safe.
 */
public interface KvTransport {

    /**
     * Receives blocks {@code [fromBlock, fromBlock + maxBlocks)} of the prompt blocks {@code source} holds (fewer if
     * it holds fewer), in order, in chunks handed to {@code sink} on the calling thread, and returns how many
     * arrived. The source's hold is released at the end whatever happens. Throws {@link KvTransferException} when
     * the source is unreachable or holds nothing under the id, the stream breaks, a chunk is refused (corrupt, of
     * another layout: {@code sink} may throw IllegalArgumentException), or {@code deadlineNanos}
     * ({@link System#nanoTime()}) passes; the chunks delivered before stay delivered.
     */
    int fetch(KvTransfer.Fetch source, int fromBlock, int maxBlocks, Consumer<KvBlocks> sink, long deadlineNanos)
            throws KvTransferException, InterruptedException;

    /** Asks {@code source} to drop its hold without sending anything (nothing of it is needed). Best effort. */
    void release(KvTransfer.Fetch source);
}
