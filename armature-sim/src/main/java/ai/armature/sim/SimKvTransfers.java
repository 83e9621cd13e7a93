package ai.armature.sim;

import java.util.HashMap;
import java.util.Map;

/**
 * KV transfers between simulated workers (disaggregated prefill and decode), in virtual time: a transfer of a
 * prompt's blocks takes their bytes (the simulated model's block size, {@code kv_bytes_per_token} times the block
 * size) over {@code bytesPerSecond}. Each worker has one link of that bandwidth per direction, so transfers out of one
 * prefill worker, or into one decode worker, queue behind each other (first come, first served); a transfer starts
 * when both its ends are free. Also counts what moved. Single-threaded, like the event loop.
 */
final class SimKvTransfers {

    private final double bytesPerSecond;
    private final Map<String, Long> sendFree = new HashMap<>();
    private final Map<String, Long> receiveFree = new HashMap<>();
    private long transfers, blocks, bytes, nanos;

    SimKvTransfers(double bytesPerSecond) {
        if (!(bytesPerSecond > 0) || Double.isInfinite(bytesPerSecond)) {
            throw new IllegalArgumentException("--transfer-bandwidth must be a positive number, got " + bytesPerSecond / 1e9 + " GB/s");
        }
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Virtual nanoseconds {@code bytes} take on one link. */
    long wireNanos(long bytes) {
        return Math.round(bytes / bytesPerSecond * 1e9);
    }

    /**
     * Books a transfer of {@code blockCount} blocks of {@code blockBytes} from {@code source} to {@code dest}, ready at
     * {@code now}: returns when its last byte arrives.
     */
    long book(String source, String dest, int blockCount, long blockBytes, long now) {
        long size = blockCount * blockBytes;
        long start = Math.max(now, Math.max(sendFree.getOrDefault(source, 0L), receiveFree.getOrDefault(dest, 0L)));
        long end = start + wireNanos(size);
        sendFree.put(source, end);
        receiveFree.put(dest, end);
        transfers++;
        blocks += blockCount;
        bytes += size;
        nanos += end - now;
        return end;
    }

    /** Transfers that moved blocks so far. */
    long transfers() {
        return transfers;
    }

    long blocks() {
        return blocks;
    }

    long bytes() {
        return bytes;
    }

    /** Virtual seconds from each transfer's readiness to its last byte (waiting for a busy link included), summed. */
    double seconds() {
        return nanos / 1e9;
    }
}
