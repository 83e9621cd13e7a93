package ai.armature.router.index;

import java.util.Arrays;

/**
 * An open-addressing map from long keys to non-zero int values (linear probing, backward-shift deletion, no
 * tombstones), for the indexer's per-worker block sets: key = block hash, value = the mask of KV tiers holding it
 * (exact workers) or the block's entry in the recency list (approximate workers). 12 bytes per slot, load factor at
 * most 3/4. Any long is a valid key (0 is kept aside). Not thread-safe.
 */
final class LongIntMap {

    private static final int MIN_CAPACITY = 16;

    private long[] keys;
    private int[] values;
    private int mask;
    private int size;
    private boolean hasZeroKey;
    private int zeroValue;

    LongIntMap() {
        this(MIN_CAPACITY);
    }

    LongIntMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(MIN_CAPACITY, expected * 4 / 3 + 1) - 1) << 1;
        keys = new long[cap];
        values = new int[cap];
        mask = cap - 1;
    }

    int size() {
        return size + (hasZeroKey ? 1 : 0);
    }

    /** The value of {@code key}, or 0 if absent. */
    int get(long key) {
        if (key == 0) return hasZeroKey ? zeroValue : 0;
        long[] k = keys;
        int m = mask;
        for (int i = LinearProbing.spread(key) & m; ; i = (i + 1) & m) {
            long c = k[i];
            if (c == key) return values[i];
            if (c == 0) return 0;
        }
    }

    /** Sets {@code key} to {@code value} (non-zero); returns the previous value, or 0 if it was absent. */
    int put(long key, int value) {
        if (value == 0) throw new IllegalArgumentException("values must be non-zero");
        if (key == 0) {
            int old = hasZeroKey ? zeroValue : 0;
            hasZeroKey = true;
            zeroValue = value;
            return old;
        }
        for (int i = LinearProbing.spread(key) & mask; ; i = (i + 1) & mask) {
            long c = keys[i];
            if (c == key) {
                int old = values[i];
                values[i] = value;
                return old;
            }
            if (c == 0) {
                keys[i] = key;
                values[i] = value;
                if (++size > (mask + 1) / 4 * 3) grow();
                return 0;
            }
        }
    }

    /** Sets {@code key}'s value to {@code old | bits} (non-zero) in one probe; returns the old value (0 if absent). */
    int orBits(long key, int bits) {
        if (bits == 0) throw new IllegalArgumentException("values must be non-zero");
        if (key == 0) {
            int old = hasZeroKey ? zeroValue : 0;
            hasZeroKey = true;
            zeroValue = old | bits;
            return old;
        }
        long[] k = keys;
        int m = mask;
        for (int i = LinearProbing.spread(key) & m; ; i = (i + 1) & m) {
            long c = k[i];
            if (c == key) {
                int old = values[i];
                values[i] = old | bits;
                return old;
            }
            if (c == 0) {
                k[i] = key;
                values[i] = bits;
                if (++size > (m + 1) / 4 * 3) grow();
                return 0;
            }
        }
    }

    /** Removes {@code key}; returns its value, or 0 if it was absent. */
    int remove(long key) {
        if (key == 0) {
            int old = hasZeroKey ? zeroValue : 0;
            hasZeroKey = false;
            zeroValue = 0;
            return old;
        }
        for (int i = LinearProbing.spread(key) & mask; ; i = (i + 1) & mask) {
            long c = keys[i];
            if (c == 0) return 0;
            if (c == key) {
                int old = values[i];
                LinearProbing.delete(keys, values, mask, i, 0);
                size--;
                return old;
            }
        }
    }

    void clear() {
        Arrays.fill(keys, 0);
        Arrays.fill(values, 0);
        size = 0;
        hasZeroKey = false;
        zeroValue = 0;
    }

    /** Calls {@code f} for every key; the map must not be modified meanwhile. */
    void forEachKey(LongConsumer f) {
        if (hasZeroKey) f.accept(0);
        long[] k = keys;
        for (long c : k) if (c != 0) f.accept(c);
    }

    /** Bytes held by the arrays (for the memory benchmark). */
    long footprintBytes() {
        return 16L + keys.length * 8L + 16L + values.length * 4L;
    }

    /** A primitive consumer of keys. */
    @FunctionalInterface
    interface LongConsumer {
        void accept(long key);
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        int cap = oldKeys.length * 2;
        keys = new long[cap];
        values = new int[cap];
        mask = cap - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            long c = oldKeys[i];
            if (c == 0) continue;
            int j = LinearProbing.spread(c) & mask;
            while (keys[j] != 0) j = (j + 1) & mask;
            keys[j] = c;
            values[j] = oldValues[i];
        }
    }
}
