package ai.armature.engine.sampling;

import java.util.Arrays;

/**
 * How often each token id occurred, for penalties: an open-addressing int-to-int map that remembers its keys in
 * insertion order so penalties touch only the tokens that occurred, never the whole vocabulary.
 */
final class TokenCounts {
    private int[] keys = new int[32];
    private int[] counts = new int[32];
    private int[] order = new int[16];
    private int size;

    TokenCounts() {
        Arrays.fill(keys, -1);
    }

    void add(int token) {
        if (size * 2 >= keys.length) grow();
        int i = slot(token);
        if (keys[i] == -1) {
            keys[i] = token;
            if (size == order.length) order = Arrays.copyOf(order, size * 2);
            order[size++] = token;
        }
        counts[i]++;
    }

    /** Forgets every count. */
    void clear() {
        if (size == 0) return;
        // Clearing slot by slot would break the probe chains of keys not yet cleared; the table is small.
        Arrays.fill(keys, -1);
        Arrays.fill(counts, 0);
        size = 0;
    }

    int count(int token) {
        int i = slot(token);
        return keys[i] == token ? counts[i] : 0;
    }

    int distinct() {
        return size;
    }

    int tokenAt(int i) {
        return order[i];
    }

    private int slot(int token) {
        int mask = keys.length - 1;
        int i = (token * 0x9E3779B9) >>> 7 & mask;
        while (keys[i] != -1 && keys[i] != token) i = (i + 1) & mask;
        return i;
    }

    private void grow() {
        int[] oldKeys = keys, oldCounts = counts;
        keys = new int[oldKeys.length * 2];
        counts = new int[oldKeys.length * 2];
        Arrays.fill(keys, -1);
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] != -1) {
                int i = slot(oldKeys[j]);
                keys[i] = oldKeys[j];
                counts[i] = oldCounts[j];
            }
        }
    }
}
