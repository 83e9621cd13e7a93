package ai.armature.serving.kv;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.protocol.kv.KvTier;

/**
 * The device tier (G1) of a worker's KV cache as ids: which blocks are free, how many sequences use each one, and
 * which full blocks are cached under a chained hash for prefix reuse. The storage itself belongs to the model
 * runner; which sequence holds which block is the {@link KvCacheManager}'s business (it is the pool's only user).
 *
 * <p>Invariants:
 * <ul>
 *   <li>A block is in exactly one of three states: <em>used</em> (reference count &gt; 0), <em>cached</em> (count 0,
 *       registered under a hash, kept for reuse in an LRU list) or <em>free</em> (count 0, no hash).</li>
 *   <li>A hash names at most one block, and a registered block's K/V never changes until it is evicted: only full,
 *       computed blocks are registered, and computation only writes blocks private to one sequence.</li>
 *   <li>{@link #allocate()} takes a free block first and evicts the least recently released cached block only when
 *       no free one is left. Registering and evicting publish {@link KvEvent}s (tier {@link KvTier#DEVICE}).</li>
 *   <li>A <em>pinned</em> block (a copy to a lower tier is reading it) is never evicted: eviction takes the least
 *       recently released cached block that is not pinned. Only registered blocks are pinned.</li>
 * </ul>
 *
 * <p>Not thread-safe: used by the engine thread only. Allocation-free except for the hash map of cached blocks.
 */
public final class BlockPool {

    private static final int NONE = -1;
    /** What {@link #allocate()} returns when the only blocks left are cached ones that are pinned. */
    public static final int ALL_PINNED = -2;

    private final int numBlocks;
    private final int blockSize;
    private final KvEventSequencer events;

    private final int[] refCount;
    private final long[] hash;
    private final boolean[] hashed;
    private final Map<Long, Integer> blockByHash = new HashMap<>();

    private final int[] freeStack;
    private int freeTop;

    // Intrusive doubly-linked LRU list of cached blocks with count 0: head is evicted first.
    private final int[] prev;
    private final int[] next;
    private final boolean[] inLru;
    private final int[] pins;
    private int lruHead = NONE, lruTail = NONE, lruSize;

    private int used;

    public BlockPool(int numBlocks, int blockSize, KvEventPublisher events) {
        this(numBlocks, blockSize, new KvEventSequencer(events));
    }

    public BlockPool(int numBlocks, int blockSize, KvEventSequencer events) {
        if (numBlocks < 1) throw new IllegalArgumentException("the KV cache needs at least one block, got " + numBlocks);
        if (blockSize < 1) throw new IllegalArgumentException("block size must be >= 1, got " + blockSize);
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.events = Objects.requireNonNull(events, "events");
        refCount = new int[numBlocks];
        hash = new long[numBlocks];
        hashed = new boolean[numBlocks];
        freeStack = new int[numBlocks];
        prev = new int[numBlocks];
        next = new int[numBlocks];
        inLru = new boolean[numBlocks];
        pins = new int[numBlocks];
        // Lowest ids on top so allocation order is predictable (0, 1, 2, ...).
        for (int i = 0; i < numBlocks; i++) freeStack[i] = numBlocks - 1 - i;
        freeTop = numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return numBlocks;
    }

    /** Blocks with at least one user. */
    public int usedBlocks() {
        return used;
    }

    /** Blocks nobody uses that are kept for prefix reuse (evictable). */
    public int cachedFreeBlocks() {
        return lruSize;
    }

    /** Blocks {@link #allocate()} can still hand out: free ones plus evictable cached ones. */
    public int allocatableBlocks() {
        return freeTop + lruSize;
    }

    public int refCount(int block) {
        return refCount[block];
    }

    /** The block cached under {@code blockHash}, or -1. */
    public int lookup(long blockHash) {
        Integer b = blockByHash.get(blockHash);
        return b == null ? NONE : b;
    }

    /** Takes one more reference to a block (a prefix-cache hit); a cached free block leaves the LRU list. */
    public void acquire(int block) {
        if (refCount[block]++ == 0) {
            if (!inLru[block]) throw new IllegalStateException("block " + block + " is free, not cached: cannot acquire it");
            lruRemove(block);
            used++;
        }
    }

    /**
     * A block for a new user (count 1); -1 if every block is in use; {@link #ALL_PINNED} if the only candidates are
     * cached blocks still pinned (retry once a copy completed). May evict the LRU cached block that is not pinned.
     */
    public int allocate() {
        int block;
        if (freeTop > 0) {
            block = freeStack[--freeTop];
        } else if (lruHead != NONE) {
            block = lruHead;
            while (block != NONE && pins[block] > 0) block = next[block];
            if (block == NONE) return ALL_PINNED;
            lruRemove(block);
            evict(block);
        } else {
            return NONE;
        }
        refCount[block] = 1;
        used++;
        return block;
    }

    /** Takes one more reference to a block that is in use (a copy into it holds it until the copy completes). */
    public void retain(int block) {
        if (refCount[block] <= 0) throw new IllegalStateException("block " + block + " is not in use: cannot retain it");
        refCount[block]++;
    }

    /** Keeps a registered block from being evicted while a copy reads it; undone by {@link #unpin}. */
    public void pin(int block) {
        if (!hashed[block]) throw new IllegalStateException("block " + block + " is not registered: nothing reads it");
        pins[block]++;
    }

    public void unpin(int block) {
        if (pins[block] <= 0) throw new IllegalStateException("block " + block + " is not pinned");
        pins[block]--;
    }

    /** Whether {@code block} is registered under {@code blockHash} (a cached copy of that block). */
    public boolean holds(int block, long blockHash) {
        return hashed[block] && hash[block] == blockHash;
    }

    /** Drops one reference; at zero a registered block becomes cached (most recently used), else free. */
    public void release(int block) {
        if (refCount[block] <= 0) throw new IllegalStateException("block " + block + " released more often than acquired");
        if (--refCount[block] == 0) {
            used--;
            if (hashed[block]) lruAppend(block);
            else freeStack[freeTop++] = block;
        }
    }

    /**
     * Registers a full, computed block under its chained hash so later sequences can reuse it, publishing
     * {@link KvEvent.BlockStored}. Returns false (and changes nothing) if the block is already registered or
     * another block already holds this hash (two sequences computed the same prefix at once: this copy stays private).
     */
    public boolean register(int block, long blockHash, long parentHash, int[] tokens, int from) {
        if (refCount[block] <= 0) throw new IllegalStateException("block " + block + " is not in use: cannot register it");
        if (hashed[block] || blockByHash.containsKey(blockHash)) return false;
        hashed[block] = true;
        hash[block] = blockHash;
        blockByHash.put(blockHash, block);
        events.stored(blockHash, parentHash, tokens, from, blockSize, KvTier.DEVICE);
        return true;
    }

    /**
     * Forgets every hash (cached blocks become free, used ones private) and publishes {@link KvEvent.AllBlocksCleared}.
     * No block may be pinned.
     */
    public void clearCache() {
        for (int b = 0; b < numBlocks; b++) if (pins[b] > 0) throw new IllegalStateException("block " + b + " is pinned: finish its copies first");
        while (lruHead != NONE) {
            int b = lruHead;
            lruRemove(b);
            freeStack[freeTop++] = b;
        }
        for (int b = 0; b < numBlocks; b++) hashed[b] = false;
        blockByHash.clear();
        events.cleared();
    }

    /** The hashes of all registered blocks (used or cached): what a router should believe this worker holds. */
    public Set<Long> registeredHashes() {
        return new HashSet<>(blockByHash.keySet());
    }

    /** The LRU order of cached free blocks, first evicted first (for tests and diagnostics). */
    public int[] evictionOrder() {
        int[] order = new int[lruSize];
        int i = 0;
        for (int b = lruHead; b != NONE; b = next[b]) order[i++] = b;
        return order;
    }

    private void evict(int block) {
        hashed[block] = false;
        blockByHash.remove(hash[block]);
        events.removed(hash[block], KvTier.DEVICE);
    }

    private void lruAppend(int b) {
        prev[b] = lruTail;
        next[b] = NONE;
        if (lruTail != NONE) next[lruTail] = b;
        else lruHead = b;
        lruTail = b;
        inLru[b] = true;
        lruSize++;
    }

    private void lruRemove(int b) {
        if (prev[b] != NONE) next[prev[b]] = next[b];
        else lruHead = next[b];
        if (next[b] != NONE) prev[next[b]] = prev[b];
        else lruTail = prev[b];
        inLru[b] = false;
        lruSize--;
    }
}
