package ai.armature.serving.kv;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.protocol.kv.KvTier;

/**
 * The one owner of a worker's KV blocks. The scheduler asks it four things per sequence and never touches block
 * ids or reference counts itself:
 * <ol>
 *   <li>{@link #findCachedPrefix}: how many leading positions of a sequence are already cached;</li>
 *   <li>{@link #allocateSlots}: blocks for the positions a step will compute (with the cached prefix on
 *       admission), all or nothing;</li>
 *   <li>{@link #cacheFullBlocks}: registers the blocks a step filled, under {@link BlockHasher}'s chain;</li>
 *   <li>{@link #free}: gives a finished or preempted sequence's blocks back.</li>
 * </ol>
 * Below it the {@link BlockPool} (G1: free list, reference counts, hash map, LRU of cached blocks, KV events).
 *
 * <p>Invariants, for every {@link BlockTable} t it handed out:
 * <ul>
 *   <li>t's blocks {@code [0, t.cachedBlocks())} are registered (shared, read-only); the others are t's alone, so a
 *       step may write positions {@code >= computed} of t without touching anyone else's K/V;</li>
 *   <li>a prefix hit never covers the block holding a sequence's last known token (its logits must be computed),
 *       so the first position a sequence computes always lies in a private block;</li>
 *   <li>each block of each table holds one reference in the pool, dropped exactly once by {@link #free}.</li>
 * </ul>
 * Engine thread only (except {@link #snapshot}, which must be taken there too to be coherent with the events).
 */
public final class KvCacheManager {

    private final BlockPool pool;
    private final BlockHasher hasher;
    private final KvEventSequencer events;
    private final int blockSize;
    private long prefixQueryTokens, prefixHitTokens;

    public KvCacheManager(int numBlocks, int blockSize, BlockHasher hasher, KvEventPublisher publisher) {
        this.hasher = Objects.requireNonNull(hasher, "hasher");
        this.events = new KvEventSequencer(publisher);
        this.pool = new BlockPool(numBlocks, blockSize, events);
        this.blockSize = blockSize;
    }

    /** An empty block table for a new sequence whose blocks hash under {@code cacheSalt} (null: no salt). */
    public BlockTable newBlockTable(String cacheSalt) {
        return new BlockTable(hasher.chain(cacheSalt, blockSize));
    }

    /**
     * The longest cached prefix of {@code tokens[0, length)} in whole blocks, never including the block that holds
     * the last token (position {@code length - 1}). Changes nothing but the table's hash chain, which it extends.
     */
    public PrefixHit findCachedPrefix(BlockTable t, int[] tokens, int length) {
        int reusable = (length - 1) / blockSize;
        t.chain.extend(tokens, reusable * blockSize);
        int hit = 0;
        while (hit < reusable && pool.lookup(t.chain.hash(hit)) >= 0) hit++;
        return hit == 0 ? PrefixHit.NONE : new PrefixHit(hit, hit * blockSize);
    }

    /**
     * Admits a sequence whose table is empty: takes the blocks of {@code hit} (found just now by
     * {@link #findCachedPrefix}) and fresh blocks for {@code newTokens} positions after it. Returns false, changing
     * nothing, if the pool cannot provide them all (cached blocks the hit reuses count against what is left, as
     * they leave the evictable list).
     */
    public boolean allocateSlots(BlockTable t, PrefixHit hit, int newTokens) {
        if (t.size() != 0) throw new IllegalStateException("the sequence already holds " + t.size() + " blocks");
        int fresh = ceilDiv(hit.tokens() + newTokens, blockSize) - hit.blocks();
        int leavingLru = 0;
        for (int i = 0; i < hit.blocks(); i++) {
            if (pool.refCount(pool.lookup(t.chain.hash(i))) == 0) leavingLru++;
        }
        if (fresh + leavingLru > pool.allocatableBlocks()) return false;
        for (int i = 0; i < hit.blocks(); i++) {
            int b = pool.lookup(t.chain.hash(i));
            pool.acquire(b);
            t.add(b);
        }
        for (int i = 0; i < fresh; i++) t.add(pool.allocate());
        t.cachedBlocks(hit.blocks());
        return true;
    }

    /**
     * Makes the table cover positions {@code [0, endPosition)}, allocating blocks at its end. Returns false,
     * changing nothing, if the pool has too few allocatable blocks (the caller may free another sequence and retry).
     */
    public boolean allocateSlots(BlockTable t, int endPosition) {
        int needed = ceilDiv(endPosition, blockSize) - t.size();
        if (needed <= 0) return true;
        if (needed > pool.allocatableBlocks()) return false;
        for (int i = 0; i < needed; i++) t.add(pool.allocate());
        return true;
    }

    /**
     * Registers the table's blocks that positions {@code [0, computedTokens)} filled completely, so later sequences
     * can reuse them. A block whose hash another block already holds (two sequences computed the same prefix at
     * once) stays private to this sequence.
     */
    public void cacheFullBlocks(BlockTable t, int[] tokens, int computedTokens) {
        int full = Math.min(computedTokens / blockSize, t.size());
        if (t.cachedBlocks() >= full) return;
        t.chain.extend(tokens, full * blockSize);
        for (int b = t.cachedBlocks(); b < full; b++) {
            pool.register(t.block(b), t.chain.hash(b), t.chain.parent(b), tokens, b * blockSize);
        }
        t.cachedBlocks(full);
    }

    /** Releases every block of the table, last first, so the cache evicts the tails of chains before their heads. */
    public void free(BlockTable t) {
        for (int i = t.size() - 1; i >= 0; i--) pool.release(t.block(i));
        t.clear();
    }

    /** Counts one request's prefix lookup: {@code queryTokens} prompt tokens of which {@code hitTokens} were cached. */
    public void recordPrefixLookup(int queryTokens, int hitTokens) {
        prefixQueryTokens += queryTokens;
        prefixHitTokens += hitTokens;
    }

    /** Drops every cached block that no sequence uses, in every tier, publishing one AllBlocksCleared. */
    public void resetPrefixCache() {
        pool.clearCache();
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return pool.totalBlocks();
    }

    /** Device blocks held by at least one sequence. */
    public int usedBlocks() {
        return pool.usedBlocks();
    }

    /** Device blocks no sequence uses that are kept for prefix reuse. */
    public int cachedFreeBlocks() {
        return pool.cachedFreeBlocks();
    }

    public long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    public long prefixHitTokens() {
        return prefixHitTokens;
    }

    /** The device pool, for tests and diagnostics. */
    public BlockPool pool() {
        return pool;
    }

    /** Every block held, by tier, and the id of the last event published: what a router should believe. */
    public KvCacheSnapshot snapshot() {
        Map<KvTier, Set<Long>> byTier = new EnumMap<>(KvTier.class);
        byTier.put(KvTier.DEVICE, pool.registeredHashes());
        return new KvCacheSnapshot(events.lastEventId(), byTier);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
