package ai.armature.router.index;

import java.util.Arrays;

/**
 * The router's own record of what it sent to one worker that publishes no KV events (approximate mode): its blocks
 * in the order they were last sent (an intrusive doubly-linked list over arrays, oldest first), each with the time
 * it was last sent, so expiry by TTL and trimming to a size bound both pop the head. Entries are referred to by
 * index; the worker's block map stores {@code index + 1}. Not thread-safe.
 */
final class ApproxLru {

    private static final int NONE = -1;

    private long[] hashes = new long[64];
    private long[] times = new long[64];
    private int[] prev = new int[64];
    private int[] next = new int[64];
    private int head = NONE, tail = NONE;
    private int[] free = new int[64];
    private int freeTop;
    private int top;
    private int size;

    int size() {
        return size;
    }

    /** Adds a new most-recent entry; returns its index. */
    int add(long hash, long time) {
        int e;
        if (freeTop > 0) {
            e = free[--freeTop];
        } else {
            if (top == hashes.length) grow();
            e = top++;
        }
        hashes[e] = hash;
        times[e] = time;
        link(e);
        size++;
        return e;
    }

    /** Marks entry {@code e} as sent again at {@code time}: it becomes the most recent. */
    void touch(int e, long time) {
        times[e] = time;
        if (e == tail) return;
        unlink(e);
        link(e);
    }

    boolean isEmpty() {
        return head == NONE;
    }

    /** The oldest entry's time (the list must not be empty). */
    long oldestTime() {
        return times[head];
    }

    /** Removes the oldest entry and returns its hash (the list must not be empty). */
    long popOldest() {
        int e = head;
        remove(e);
        return hashes[e];
    }

    /** Removes entry {@code e} (a block the worker was found to hold exactly, or to have dropped). */
    void remove(int e) {
        unlink(e);
        if (freeTop == free.length) free = Arrays.copyOf(free, free.length * 2);
        free[freeTop++] = e;
        size--;
    }

    void clear() {
        head = tail = NONE;
        freeTop = 0;
        top = 0;
        size = 0;
    }

    long footprintBytes() {
        return 64L + hashes.length * 24L + free.length * 4L;
    }

    private void link(int e) {
        prev[e] = tail;
        next[e] = NONE;
        if (tail != NONE) next[tail] = e;
        else head = e;
        tail = e;
    }

    private void unlink(int e) {
        if (prev[e] != NONE) next[prev[e]] = next[e];
        else head = next[e];
        if (next[e] != NONE) prev[next[e]] = prev[e];
        else tail = prev[e];
    }

    private void grow() {
        int cap = hashes.length * 2;
        hashes = Arrays.copyOf(hashes, cap);
        times = Arrays.copyOf(times, cap);
        prev = Arrays.copyOf(prev, cap);
        next = Arrays.copyOf(next, cap);
    }
}
