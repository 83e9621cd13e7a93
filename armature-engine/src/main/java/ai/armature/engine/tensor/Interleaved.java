package ai.armature.engine.tensor;

import ai.armature.protocol.memory.LargePages;

import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

/**
 * The row-interleaved layouts that 4- and 5-bit matrices are repacked into at load. Rows go in groups of
 * {@link #ROWS}; inside a group, weights are stored so that the 16-bit lane i of every 512-bit vector belongs to row
 * i of the group. A kernel then computes the 32 rows of a group together: one broadcast activation meets 32 rows
 * per vector operation, and each row's sum stays in its own lane (no horizontal sums). A matrix whose row count is
 * not a multiple of 32 has its last group padded with zero rows (zero scales), whose results are never written.
 */
final class Interleaved {
    /** Rows per group: the 16-bit lanes of a 512-bit vector. */
    static final int ROWS = 32;
    /**
     * The most vectors the K-quant kernels take in one product (decode batches up to this many sequences), in
     * passes of two vectors over each group of rows: the first pass reads the group from memory, the others from
     * the cache. Larger (prompt) batches run the tiled float matmul.
     */
    static final int MAX_VECTORS = 16;

    private Interleaved() {
    }

    /**
     * Zeroed off-heap memory for {@code rows} rows (rounded up to whole groups) of {@code groupBytes} per group, on
     * huge pages where the system grants them ({@link LargePages}).
     */
    static MemorySegment allocate(int rows, long groupBytes) {
        long groups = (rows + ROWS - 1) / ROWS;
        return LargePages.allocate(groups * groupBytes);
    }

    /** Bytes the interleaved copy of a {@code rows}-row matrix takes, with {@code groupBytes} per group. */
    static long bytes(long rows, long groupBytes) {
        return (rows + ROWS - 1) / ROWS * groupBytes;
    }

    static long groupOffset(int row, long groupBytes) {
        return (long) (row / ROWS) * groupBytes;
    }

    static int lane(int row) {
        return row % ROWS;
    }

    /** Runs {@code repack} for every row, on all threads (rows of one group may run on different threads). */
    static void forEachRow(int rows, IntConsumer repack) {
        Parallel.forRange(0, rows, ROWS, (from, to) -> {
            for (int r = from; r < to; r++) {
                repack.accept(r);
            }
        });
    }

    /**
     * Runs {@code repack} over {@code [from, to)} ranges of the groups of a {@code rows}-row matrix, on all threads
     * (several groups per call, so per-call scratch is amortized).
     */
    static void forEachGroup(int rows, Parallel.RangeTask repack) {
        int groups = (rows + ROWS - 1) / ROWS;
        int grain = Math.max(1, Math.min(16, groups / (4 * Parallel.threads())));
        Parallel.forRange(0, groups, grain, repack);
    }
}
