package ai.armature.serving.kv;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.protocol.kv.KvTier;
import ai.armature.serving.runner.KvBlocks;
import ai.armature.serving.runner.KvLayout;
import ai.armature.serving.runner.ModelRunner;

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
 * Below it the {@link BlockPool} (G1: free list, reference counts, hash map, LRU of cached blocks, KV events) and,
 * when configured, {@link LowerTiers}: host memory (G2) and disk (G3). Blocks cached in G1 are copied down as they
 * are cached; a prefix found only in G2 or G3 is copied up into fresh G1 blocks, and the sequence waits for those
 * copies ({@link #isLoading}) before it computes (see {@link LowerTiers} for the policy). The scheduler calls
 * {@link #poll} before planning each step to take the copies that finished.
 *
 * <p>Invariants, for every {@link BlockTable} t it handed out:
 * <ul>
 *   <li>t's blocks {@code [0, t.cachedBlocks())} are registered (shared, read-only); the others are t's alone, so a
 *       step may write positions {@code >= computed} of t without touching anyone else's K/V;</li>
 *   <li>a prefix hit never covers the block holding a sequence's last known token (its logits must be computed),
 *       so the first position a sequence computes always lies in a private block;</li>
 *   <li>each block of each table holds one reference in the pool, dropped exactly once by {@link #free}; a copy up
 *       holds one more on its target block until it finishes, so freeing a sequence never frees a block that is
 *       still being written;</li>
 *   <li>a G1 block is never handed out again while a copy down still reads it.</li>
 * </ul>
 * Engine thread only, except {@link #tierStats()}; take {@link #snapshot} there too, to be coherent with the events.
 */
public final class KvCacheManager {

    private final BlockPool pool;
    private final BlockHasher hasher;
    private final KvEventSequencer events;
    private final int blockSize;
    private final LowerTiers lower;
    private long prefixQueryTokens, prefixHitTokens;

    /** A manager of device blocks only. */
    public KvCacheManager(int numBlocks, int blockSize, BlockHasher hasher, KvEventPublisher publisher) {
        this(numBlocks, blockSize, hasher, publisher, null, KvTierConfig.NONE);
    }

    /**
     * A manager with the lower tiers {@code tiers}, whose copies go through {@code runner}'s block export and import
     * (the runner's cache must be allocated with {@code numBlocks} blocks of {@code blockSize}). A disk tier is
     * re-indexed here and its blocks published as stored.
     */
    public KvCacheManager(int numBlocks, int blockSize, BlockHasher hasher, KvEventPublisher publisher, ModelRunner runner, KvTierConfig tiers) {
        this.hasher = Objects.requireNonNull(hasher, "hasher");
        this.events = new KvEventSequencer(publisher);
        this.pool = new BlockPool(numBlocks, blockSize, events);
        this.blockSize = blockSize;
        this.lower = tiers.any() ? new LowerTiers(tiers, runner, pool, events) : null;
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
        KvTier[] tiers = null;
        int hit = 0;
        while (hit < reusable) {
            long h = t.chain.hash(hit);
            if (pool.lookup(h) >= 0) {
                if (tiers != null) tiers[hit] = KvTier.DEVICE;
                hit++;
                continue;
            }
            KvTier found = lower == null ? null : lower.locate(h);
            if (found == null) break;
            if (tiers == null) {
                tiers = new KvTier[reusable];
                java.util.Arrays.fill(tiers, 0, hit, KvTier.DEVICE);
            }
            tiers[hit++] = found;
        }
        if (hit == 0) return PrefixHit.NONE;
        return new PrefixHit(hit, hit * blockSize, tiers == null ? null : java.util.Arrays.copyOf(tiers, hit));
    }

    /**
     * Admits a sequence whose table is empty: takes the blocks of {@code hit} (found just now by
     * {@link #findCachedPrefix}) and fresh blocks for {@code newTokens} positions after it. Returns false, changing
     * nothing, if the pool cannot provide them all (cached blocks the hit reuses count against what is left, as
     * they leave the evictable list).
     */
    public boolean allocateSlots(BlockTable t, PrefixHit hit, int newTokens) {
        if (t.size() != 0) throw new IllegalStateException("the sequence already holds " + t.size() + " blocks");
        int total = ceilDiv(hit.tokens() + newTokens, blockSize);
        int deviceHits = hit.blocks() - hit.lowerTierBlocks();
        int fresh = total - deviceHits;
        int leavingLru = 0;
        for (int i = 0; i < hit.blocks(); i++) {
            if (hit.tier(i) == KvTier.DEVICE && pool.refCount(pool.lookup(t.chain.hash(i))) == 0) leavingLru++;
        }
        if (fresh + leavingLru > pool.allocatableBlocks()) return false;
        // Device hits first, so allocating the other blocks cannot evict them.
        int[] ids = new int[total];
        for (int i = 0; i < hit.blocks(); i++) {
            if (hit.tier(i) != KvTier.DEVICE) continue;
            long h = t.chain.hash(i);
            ids[i] = pool.lookup(h);
            pool.acquire(ids[i]);
            if (lower != null) lower.touch(h);
        }
        for (int i = 0; i < total; i++) if (i >= hit.blocks() || hit.tier(i) != KvTier.DEVICE) ids[i] = allocateOne();
        for (int id : ids) t.add(id);
        t.cachedBlocks(hit.blocks());
        for (int i = 0; i < hit.blocks(); i++) {
            if (hit.tier(i) == KvTier.DEVICE) continue;
            pool.retain(ids[i]);
            lower.onboard(t.chain.hash(i), hit.tier(i), ids[i], t);
        }
        return true;
    }

    /** One block from the pool, waiting for copies down to finish if every evictable block is still being read. */
    private int allocateOne() {
        while (true) {
            int b = pool.allocate();
            if (b >= 0) return b;
            if (b != BlockPool.ALL_PINNED) throw new IllegalStateException("the pool ran out of blocks it counted as allocatable");
            lower.awaitUnpin();
        }
    }

    /**
     * Makes the table cover positions {@code [0, endPosition)}, allocating blocks at its end. Returns false,
     * changing nothing, if the pool has too few allocatable blocks (the caller may free another sequence and retry).
     */
    public boolean allocateSlots(BlockTable t, int endPosition) {
        int needed = ceilDiv(endPosition, blockSize) - t.size();
        if (needed <= 0) return true;
        if (needed > pool.allocatableBlocks()) return false;
        for (int i = 0; i < needed; i++) t.add(allocateOne());
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
            if (pool.register(t.block(b), t.chain.hash(b), t.chain.parent(b), tokens, b * blockSize) && lower != null) {
                lower.offload(t.block(b), t.chain.hash(b), t.chain.parent(b), tokens, b * blockSize);
            }
        }
        t.cachedBlocks(full);
    }

    /** Whether the table's blocks are still being copied up from a lower tier (the sequence must not compute yet). */
    public boolean isLoading(BlockTable t) {
        return t.loading > 0;
    }

    /**
     * Whether a copy up into the table failed (a corrupt or missing block, now dropped from its tier): the sequence
     * must be freed and admitted again, which recomputes what the failed block held.
     */
    public boolean loadFailed(BlockTable t) {
        return t.loadFailed;
    }

    /** Takes the copies between tiers that finished (call before planning a step). */
    public void poll() {
        if (lower != null) lower.poll(this::onboarded);
    }

    /** Whether copies up are still running (they hold device blocks). */
    public boolean hasPendingLoads() {
        return lower != null && lower.onboardsInFlight() > 0;
    }

    /** Waits a short while for a copy up to finish and takes what finished. */
    public void awaitLoads() {
        if (lower != null) lower.await(this::onboarded);
    }

    /** A copy up finished: the block joins the prefix cache (if valid) and the copy's reference is dropped. */
    private void onboarded(LowerTiers.Onboard job, boolean ok) {
        int b = job.block();
        if (ok && pool.register(b, job.hash(), job.parentHash(), job.tokens(), 0)) {
            lower.offload(b, job.hash(), job.parentHash(), job.tokens(), 0);
        }
        pool.release(b);
        BlockTable t = job.table();
        if (t.epoch == job.epoch()) {
            t.loading--;
            if (!ok) t.loadFailed = true;
        }
    }

    /** Releases every block of the table, last first, so the cache evicts the tails of chains before their heads. */
    public void free(BlockTable t) {
        for (int i = t.size() - 1; i >= 0; i--) pool.release(t.block(i));
        t.clear();
    }

    /**
     * The K/V of the leading run of {@code tokens[0, length)}'s full blocks (under {@code cacheSalt}) that this
     * worker caches in device memory, for another worker to import ({@link #importPrefix}): a prefill worker hands
     * the prompt it computed to a decode worker this way. Possibly empty. Engine thread, between steps.
     */
    public KvBlocks exportPrefix(String cacheSalt, int[] tokens, int length, ModelRunner runner) {
        BlockHasher.Chain chain = hasher.chain(cacheSalt, blockSize);
        chain.extend(tokens, length);
        int n = 0;
        while (n < chain.size() && pool.lookup(chain.hash(n)) >= 0) n++;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = pool.lookup(chain.hash(i));
        return runner.exportBlocks(ids);
    }

    /**
     * Adds K/V another worker computed to this worker's prefix cache: block i of {@code blocks} holds full block i of
     * {@code tokens} (under {@code cacheSalt}), as {@link #exportPrefix} gave it. Blocks cached here already are
     * kept; the others take free (or least recently used) device blocks, are registered (KV events, copies to lower
     * tiers) and stay cached, so the request that follows finds them as a prefix hit and computes only the rest.
     * Stops early, keeping what it imported, when every block is in use. Refuses, before writing anything, a payload
     * of another layout or longer than the tokens. Returns the leading blocks of {@code tokens} now cached.
     * Engine thread, between steps.
     */
    public int importPrefix(String cacheSalt, int[] tokens, KvBlocks blocks, ModelRunner runner) {
        KvLayout layout = runner.kvLayout().orElseThrow(() -> new IllegalArgumentException(runner.modelName() + "'s runner cannot import KV blocks"));
        layout.requireSame(blocks.layout(), "the KV payload");
        if ((long) blocks.count() * blockSize > tokens.length) {
            throw new IllegalArgumentException("the KV payload holds " + blocks.count() + " blocks of " + blockSize
                    + " tokens but the prompt has only " + tokens.length + " tokens");
        }
        BlockHasher.Chain chain = hasher.chain(cacheSalt, blockSize);
        chain.extend(tokens, blocks.count() * blockSize);
        for (int i = 0; i < blocks.count(); i++) {
            long h = chain.hash(i);
            if (pool.lookup(h) >= 0) continue;
            int b = pool.allocate();
            if (b < 0) return i;
            runner.importBlock(blocks.data(), i * layout.blockBytes(), b);
            pool.register(b, h, chain.parent(i), tokens, i * blockSize);
            if (lower != null) lower.offload(b, h, chain.parent(i), tokens, i * blockSize);
            pool.release(b);
        }
        return blocks.count();
    }

    // ---------------------------------------------------------------- KV transfer between workers

    /** Blocks kept for a decode worker to fetch (prefill side), by transfer id, oldest first. */
    private final java.util.LinkedHashMap<String, Held> holds = new java.util.LinkedHashMap<>();

    private static final class Held {
        final int[] ids;
        final long createdNanos;
        boolean claimed;

        Held(int[] ids, long createdNanos) {
            this.ids = ids;
            this.createdNanos = createdNanos;
        }
    }

    /**
     * Keeps the table's first {@code blocks} blocks (one more reference each) under {@code transferId} after their
     * sequence ends, for a decode worker to fetch: the prefill side of a KV transfer. Held blocks are never evicted
     * or written (they are full and computed), so they can be read from any thread until released. A hold with the
     * same id is replaced. Engine thread.
     */
    public void hold(String transferId, BlockTable t, int blocks, long nowNanos) {
        int n = Math.min(blocks, t.size());
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = t.block(i);
            pool.retain(ids[i]);
        }
        Held previous = holds.put(transferId, new Held(ids, nowNanos));
        if (previous != null) release(previous.ids);
    }

    /**
     * The blocks held under {@code transferId}, for the one reader that will send them (it must {@link #releaseHold}
     * them when done; a claimed hold no longer expires). Null if unknown, expired, or claimed already.
     */
    public int[] claimHold(String transferId) {
        Held h = holds.get(transferId);
        if (h == null || h.claimed) return null;
        h.claimed = true;
        return h.ids.clone();
    }

    /** Drops a hold (read, or no longer wanted); false if there was none. */
    public boolean releaseHold(String transferId) {
        Held h = holds.remove(transferId);
        if (h == null) return false;
        release(h.ids);
        return true;
    }

    /** Drops the unclaimed holds created before {@code createdBefore} (nobody came for them); returns how many. */
    public int expireHolds(long createdBefore) {
        int n = 0;
        for (var it = holds.values().iterator(); it.hasNext(); ) {
            Held h = it.next();
            if (h.createdNanos - createdBefore >= 0) break; // oldest first: the rest are younger
            if (h.claimed) continue;
            it.remove();
            release(h.ids);
            n++;
        }
        return n;
    }

    /** Transfers held now (claimed or not). */
    public int holdCount() {
        return holds.size();
    }

    /**
     * Reserves blocks for the first {@code fullBlocks} full blocks of {@code tokens} (under {@code cacheSalt}), which
     * another worker computed: the leading ones this worker caches in device memory already are held as they are
     * (nothing to receive), then fresh device blocks for the rest, as many as the pool can give without waiting.
     * Fill them with {@link KvImport#write}, then {@link #commitImport} or {@link #abortImport}. Engine thread.
     */
    public KvImport reserveImport(String cacheSalt, int[] tokens, int fullBlocks, ModelRunner runner) {
        KvLayout layout = runner.kvLayout().orElseThrow(() -> new IllegalArgumentException(runner.modelName() + "'s runner cannot import KV blocks"));
        BlockHasher.Chain chain = hasher.chain(cacheSalt, blockSize);
        int n = Math.max(0, Math.min(fullBlocks, tokens.length / blockSize));
        chain.extend(tokens, n * blockSize);
        int[] ids = new int[n];
        int cached = 0;
        while (cached < n) {
            int b = pool.lookup(chain.hash(cached));
            if (b < 0) break;
            pool.acquire(b);
            if (lower != null) lower.touch(chain.hash(cached));
            ids[cached++] = b;
        }
        int reserved = cached;
        while (reserved < n) {
            int b = pool.allocate();
            if (b < 0) break; // none free (or only pinned ones): receive fewer, compute the rest
            ids[reserved++] = b;
        }
        return new KvImport(chain, tokens, java.util.Arrays.copyOf(ids, reserved), cached, layout, runner);
    }

    /**
     * Registers the blocks the import received (KV events, copies to lower tiers), gives back the reserved ones that
     * received nothing, and returns the ids of the prompt's leading blocks now cached, each still held once for the
     * request: pass them to the sequence, whose admission releases them ({@link #releasePrefix}) after taking its own
     * references. Engine thread.
     */
    public int[] commitImport(KvImport imp) {
        if (imp.done) throw new IllegalStateException("the import was already committed or aborted");
        imp.done = true;
        int keep = imp.cached + imp.written();
        for (int i = imp.cached; i < keep; i++) {
            int b = imp.ids[i];
            long h = imp.chain.hash(i);
            if (pool.register(b, h, imp.chain.parent(i), imp.tokens, i * blockSize) && lower != null) {
                lower.offload(b, h, imp.chain.parent(i), imp.tokens, i * blockSize);
            }
        }
        for (int i = keep; i < imp.ids.length; i++) pool.release(imp.ids[i]);
        return java.util.Arrays.copyOf(imp.ids, keep);
    }

    /** Gives back everything an import reserved or holds (the request will not run here). Engine thread. */
    public void abortImport(KvImport imp) {
        if (imp.done) return;
        imp.done = true;
        release(imp.ids);
    }

    /** Drops the references {@link #commitImport} kept for a request (it was admitted with its own, or ended). */
    public void releasePrefix(int[] ids) {
        release(ids);
    }

    private void release(int[] ids) {
        for (int i = ids.length - 1; i >= 0; i--) pool.release(ids[i]);
    }

    /** Counts one request's prefix lookup: {@code queryTokens} prompt tokens of which {@code hitTokens} were cached. */
    public void recordPrefixLookup(int queryTokens, int hitTokens) {
        prefixQueryTokens += queryTokens;
        prefixHitTokens += hitTokens;
    }

    /** Drops every cached block that no sequence uses, in every tier, publishing one AllBlocksCleared. */
    public void resetPrefixCache() {
        if (lower != null) lower.drainAll(this::onboarded);
        pool.clearCache();
        if (lower != null) lower.clear();
    }

    /** Publishes the counters {@link #tierStats()} reads (engine thread, after each step). */
    public void publishStats() {
        if (lower != null) lower.publish();
    }

    /** Counters of the lower tiers (empty without them). Thread-safe. */
    public java.util.List<ai.armature.protocol.kv.KvTierStats> tierStats() {
        return lower == null ? java.util.List.of() : lower.stats();
    }

    /** Finishes queued copies (disk writes land), then frees host memory and unlocks the disk directory. */
    public void close() {
        if (lower != null) lower.close();
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

    /** The id of the last KV event this worker published (0 before the first). */
    public long lastEventId() {
        return events.lastEventId();
    }

    /** Every block held, by tier, and the id of the last event published: what a router should believe. */
    public KvCacheSnapshot snapshot() {
        Map<KvTier, Set<Long>> byTier = new EnumMap<>(KvTier.class);
        byTier.put(KvTier.DEVICE, pool.registeredHashes());
        if (lower != null) {
            byTier.put(KvTier.HOST, lower.hostHashes());
            byTier.put(KvTier.DISK, lower.diskHashes());
        }
        return new KvCacheSnapshot(events.lastEventId(), byTier);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
