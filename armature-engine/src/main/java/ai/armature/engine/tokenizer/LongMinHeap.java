package ai.armature.engine.tokenizer;

/**
 * Binary min-heap operations over a {@code long[]} whose first n entries are the heap. The BPE merge loops pack
 * (rank, position) into one long so that the heap orders by rank, then by position, with no objects.
 */
final class LongMinHeap {
    private LongMinHeap() {
    }

    static void siftUp(long[] h, int i) {
        long x = h[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (h[p] <= x) break;
            h[i] = h[p];
            i = p;
        }
        h[i] = x;
    }

    static void siftDown(long[] h, int n, int i) {
        if (n == 0) return;
        long x = h[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && h[c + 1] < h[c]) c++;
            if (h[c] >= x) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = x;
    }
}
