package ai.armature.serving.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * G2: cached KV blocks in off-heap host memory, {@code capacity} slots of one block each, allocated once, with an
 * LRU index of which block hash lives in which slot. The index belongs to the engine thread; the bytes are read and
 * written only by the worker's {@link KvMover}, in the order the engine submitted the copies, which is what makes a
 * slot's reuse safe while copies into or out of it are still queued.
 */
final class HostTier implements AutoCloseable {

    /** A block held here: its hash, its parent's hash and tokens (for events), and its slot. */
    record Entry(long hash, long parentHash, int[] tokens, int slot) {
    }

    private final long blockBytes;
    private final int capacity;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;
    private final TierIndex<Entry> index = new TierIndex<>(Entry::hash);
    private final int[] freeSlots;
    private int freeTop;

    HostTier(long bytes, long blockBytes) {
        long slots = bytes / blockBytes;
        if (slots < 1) {
            throw new IllegalArgumentException("--kv-host-memory of " + bytes + " bytes holds no KV block of " + blockBytes
                    + " bytes: give it at least " + blockBytes + " bytes per worker");
        }
        this.blockBytes = blockBytes;
        this.capacity = (int) Math.min(slots, Integer.MAX_VALUE - 8);
        this.data = arena.allocate(capacity * blockBytes, 64);
        this.freeSlots = new int[capacity];
        for (int i = 0; i < capacity; i++) freeSlots[i] = capacity - 1 - i;
        freeTop = capacity;
    }

    int capacity() {
        return capacity;
    }

    long blockBytes() {
        return blockBytes;
    }

    /** The LRU index of the blocks held here. */
    TierIndex<Entry> index() {
        return index;
    }

    boolean full() {
        return freeTop == 0;
    }

    /** Adds {@code hash} in a free slot (there must be one). */
    Entry insert(long hash, long parentHash, int[] tokens) {
        if (freeTop == 0) throw new IllegalStateException("no free host slot");
        Entry e = new Entry(hash, parentHash, tokens, freeSlots[--freeTop]);
        index.put(e);
        return e;
    }

    /** Drops {@code e} if it is still the entry of its hash; its slot becomes free. Returns whether it was. */
    boolean remove(Entry e) {
        if (!index.remove(e)) return false;
        freeSlots[freeTop++] = e.slot();
        return true;
    }

    void clear() {
        index.clear();
        for (int i = 0; i < capacity; i++) freeSlots[i] = capacity - 1 - i;
        freeTop = capacity;
    }

    /** Slot {@code slot}'s bytes (for the mover). */
    MemorySegment slot(int slot) {
        return data.asSlice(slot * blockBytes, blockBytes);
    }

    @Override
    public void close() {
        arena.close();
    }
}
