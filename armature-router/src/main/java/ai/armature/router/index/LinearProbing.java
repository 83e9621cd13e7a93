package ai.armature.router.index;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The pieces of linear probing the indexer's tables share: the home slot of a key, and deletion without tombstones. */
final class LinearProbing {

    private LinearProbing() {
    }

    /** A well-mixed table position for a key (block hashes are random already, but a cheap mix costs nothing). */
    static int spread(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    /**
     * Empties slot {@code hole} of a table of {@code keys} (0 = empty) and parallel {@code values}, moving back later
     * entries of the same probe run so every key stays reachable from its home (Knuth's algorithm R);
     * {@code emptyValue} goes into the slot that ends up empty.
     */
    static void delete(long[] keys, int[] values, int mask, int hole, int emptyValue) {
        int j = hole;
        while (true) {
            j = (j + 1) & mask;
            long c = keys[j];
            if (c == 0) break;
            if (fillsHole(spread(c) & mask, hole, j)) {
                keys[hole] = c;
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = 0;
        values[hole] = emptyValue;
    }

    /**
     * {@link #delete} for a table of 16-byte slots in off-heap memory: slot i's key (a long, 0 = empty) at byte 16i,
     * its value in the 8 bytes after it, moved as they are; the slot that ends up empty is all zero.
     */
    static void delete(MemorySegment table, int mask, int hole) {
        int j = hole;
        while (true) {
            j = (j + 1) & mask;
            long c = table.get(ValueLayout.JAVA_LONG, (long) j << 4);
            if (c == 0) break;
            if (fillsHole(spread(c) & mask, hole, j)) {
                table.set(ValueLayout.JAVA_LONG, (long) hole << 4, c);
                table.set(ValueLayout.JAVA_LONG, ((long) hole << 4) + 8, table.get(ValueLayout.JAVA_LONG, ((long) j << 4) + 8));
                hole = j;
            }
        }
        table.set(ValueLayout.JAVA_LONG, (long) hole << 4, 0L);
        table.set(ValueLayout.JAVA_LONG, ((long) hole << 4) + 8, 0L);
    }

    /** Whether the key in slot {@code j}, whose home is {@code home}, moves into {@code hole}: unless its home lies cyclically in (hole, j]. */
    private static boolean fillsHole(int home, int hole, int j) {
        return hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    }
}
