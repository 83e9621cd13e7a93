package ai.armature.engine.tokenizer;

/**
 * The merge table of a BPE vocabulary keyed by the ids of the pair: an open-addressing hash map from
 * {@code (left, right)} to {@code (rank, merged id)}, so the merge loop does no string work and no boxing. Key and
 * value sit side by side in one array, so a probe costs one cache miss, not two.
 */
final class BpeMerges {
    private static final long EMPTY = -1L;
    /** key at 2*slot, value at 2*slot + 1 */
    private final long[] table;
    private final int mask;
    private int size;

    BpeMerges(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        table = new long[cap * 2];
        for (int i = 0; i < table.length; i += 2) table[i] = EMPTY;
        mask = cap - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int slot(long k, int mask) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    /** Records a merge unless the pair already has one (the first, lowest rank, wins). */
    void put(int left, int right, int rank, int merged) {
        long k = key(left, right);
        int s = slot(k, mask);
        while (table[2 * s] != EMPTY) {
            if (table[2 * s] == k) return;
            s = (s + 1) & mask;
        }
        table[2 * s] = k;
        table[2 * s + 1] = ((long) rank << 32) | (merged & 0xFFFFFFFFL);
        size++;
    }

    /** {@code rank << 32 | mergedId} of the pair, or -1 if the pair does not merge. */
    long get(int left, int right) {
        long k = key(left, right);
        int s = slot(k, mask);
        while (true) {
            long kk = table[2 * s];
            if (kk == k) return table[2 * s + 1];
            if (kk == EMPTY) return -1L;
            s = (s + 1) & mask;
        }
    }

    int size() {
        return size;
    }

    @Override
    public String toString() {
        return "BpeMerges[" + size + " of " + (table.length / 2) + " slots]";
    }
}
