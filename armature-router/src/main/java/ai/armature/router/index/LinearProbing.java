package ai.armature.router.index;

/** The two pieces of linear probing the indexer's tables share: the home slot of a key, and deletion without tombstones. */
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
            int home = spread(c) & mask;
            // Move c into the hole unless its home lies cyclically in (hole, j].
            if (hole <= j ? (home <= hole || home > j) : (home <= hole && home > j)) {
                keys[hole] = c;
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = 0;
        values[hole] = emptyValue;
    }

    /** {@link #delete} for a table with key and value interleaved: key of slot i at [2i], its value at [2i + 1]. */
    static void deleteInterleaved(long[] table, int mask, int hole, long emptyValue) {
        int j = hole;
        while (true) {
            j = (j + 1) & mask;
            long c = table[2 * j];
            if (c == 0) break;
            int home = spread(c) & mask;
            if (hole <= j ? (home <= hole || home > j) : (home <= hole && home > j)) {
                table[2 * hole] = c;
                table[2 * hole + 1] = table[2 * j + 1];
                hole = j;
            }
        }
        table[2 * hole] = 0;
        table[2 * hole + 1] = emptyValue;
    }
}
