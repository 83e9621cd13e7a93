package ai.armature.router.index;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;

/**
 * The router's view of which KV blocks every worker holds, and the prefix query over it: for a prompt, how many
 * leading tokens each worker already has cached.
 *
 * <p>Workers are grouped into <em>spaces</em> by (block size, hash namespace): a worker's blocks are indexed in its
 * own block size, and a prompt is hashed once per space ({@link BlockHasher}), so workers with different block sizes
 * (vLLM's 16, SGLang's 1) share one router. Each space has one {@link BlockIndex}; each worker a map of the blocks it
 * holds (for purging and resynchronising it in time proportional to its own blocks).
 *
 * <p>Exact workers are fed by their KV events. Event ids are per worker and consecutive: an id already applied is
 * ignored (replay is idempotent); an id that skips ahead is a gap: the worker's events are buffered from then on and
 * {@link Ingest#RESYNC_NEEDED} tells the caller to fetch a {@link KvCacheSnapshot}, which {@link #applySnapshot}
 * installs in place of the worker's entries before replaying the buffered events newer than it. A worker holds a
 * block while any of its tiers ({@link KvTier}) does: a copy in host memory or on disk is reloaded instead of
 * recomputed. Approximate workers (no
 * events) hold what the router itself sent them ({@link #recordRouted}), each block for {@code approxTtlNanos} after
 * it was last sent, at most {@code maxBlocks} blocks per worker (least recently sent dropped first).
 *
 * <p>An exact worker whose snapshot says it is incomplete ({@link KvCacheSnapshot#complete()} false: an upstream
 * engine that lost some of its own events, so nobody knows all it holds) is <em>uncertain</em>: the index keeps the
 * blocks the snapshot and its later events name, and also records, as for an approximate worker, what the router
 * sends it (each block for the TTL after it was last sent, within {@code maxBlocks}). Such an approximate entry
 * becomes exact when the worker's events store the block, and goes when they remove it or when it expires. The
 * worker is exact again (its approximate entries dropped) after an {@link KvEvent.AllBlocksCleared} or a complete
 * snapshot.
 *
 * <p><em>Pending prefixes</em>: a prompt routed to an exact worker ({@link #recordPending}) counts as held there, for the
 * blocks the worker does not hold yet, until its KV events store them, the request ends ({@link #releasePending}) or
 * the TTL passes; so the next request with the same new prefix, arriving before those events, goes to the same
 * worker instead of finding it uncached everywhere. Pending blocks live in a second, small index per space (requests
 * in flight), apart from the blocks workers' events name, so they never count twice: a worker's BlockStored takes the
 * block out of the pending index as it enters the main one, and a match counts a worker's prefix through blocks it
 * holds in either ({@link BlockIndex#extend}). A prompt nobody holds any block of is recorded by its first block and the
 * tokens of the rest, hashed once a prompt with that first block is matched (only then can a match reach them): most
 * new conversations are never repeated, and hashing and recording their whole chain at once was most of their
 * decision's cost.
 *
 * <p>Not thread-safe: the router serialises calls. Worker ids are mapped to dense slots (reused after removal) so
 * per-worker results are arrays indexed by slot.
 */
public final class KvIndexer {

    /** What {@link #ingest} did with one event. */
    public enum Ingest {
        /** Applied to the worker's entries. */
        APPLIED,
        /** Its id was already applied (or covered by a snapshot): ignored. */
        DUPLICATE,
        /** The worker is being resynchronised: kept until the snapshot arrives. */
        BUFFERED,
        /** The id skipped ahead: the event is buffered and the caller must fetch a snapshot of the worker. */
        RESYNC_NEEDED,
        /** The worker is approximate (or unknown): events are not used. */
        IGNORED
    }

    /** Events kept per worker while a snapshot is on its way; beyond this the buffer restarts after the snapshot. */
    static final int MAX_BUFFERED_EVENTS = 1 << 20;

    private final long approxTtlNanos;
    private final Map<String, Space> spaces = new HashMap<>();
    private final Map<String, Worker> byId = new HashMap<>();
    private Worker[] bySlot = new Worker[16];
    private int[] freeSlots = new int[16];
    private int freeTop;
    private int slotTop;
    private final BlockIndex.Touched touched = new BlockIndex.Touched();
    /** Workers the last match extended through pending blocks, with their depth before: slot, depth, slot, depth... */
    private final BlockIndex.Touched extended = new BlockIndex.Touched();
    private int[] depth = new int[16];
    /** Each slot's block size (flat, for the per-worker loop of a decision). */
    private int[] blockSizeOf = new int[16];

    private long eventsApplied, eventsDuplicate, gaps, snapshotsApplied, entries;

    /**
     * A request's pending blocks on the worker it was routed to. A prompt nobody held is recorded <em>lazily</em>: its
     * first block only, with the tokens of the rest ({@code tail}), hashed when a request with the same first block
     * arrives ({@link #expandLazy}); until then no other prompt can reach those blocks (a chain's blocks are reached
     * through its first), so nothing hashes them for a prompt nobody repeats (most new conversations).
     */
    private static final class PendingRoute {
        final Worker worker;
        final long since;
        /** The worker's {@link Worker#epoch} when recorded: a purge since then dropped the route's pending blocks. */
        final int epoch;
        /** The blocks this route counts as pending on the worker (in {@code worker.pending}). */
        long[] hashes;
        /** Lazy and not yet expanded: the tokens of the chain's blocks after the first; else null. */
        int[] tail;

        PendingRoute(Worker worker, long[] hashes, int[] tail, long since) {
            this.worker = worker;
            this.hashes = hashes;
            this.tail = tail;
            this.since = since;
            this.epoch = worker.epoch;
        }
    }

    /** Requests with pending blocks, oldest first (for the TTL). */
    private final java.util.LinkedHashMap<String, PendingRoute> pendingRoutes = new java.util.LinkedHashMap<>();

    /** @param approxTtlNanos how long an approximate worker is believed to hold a block after it was last sent there */
    public KvIndexer(long approxTtlNanos) {
        if (approxTtlNanos <= 0) throw new IllegalArgumentException("the approximate-mode TTL must be > 0");
        this.approxTtlNanos = approxTtlNanos;
    }

    /** One worker's state. */
    private static final class Worker {
        final String id;
        final int slot;
        final Space space;
        final boolean exact;
        final LongIntMap held = new LongIntMap();
        long lastEventId;
        boolean resyncing;
        boolean bufferOverflowed;
        List<KvEvent> buffer;
        final ApproxLru log;
        long maxBlocks;
        /** Exact worker whose cache is partly unknown: its approximate entries (hash -> log entry + 1) and their log. */
        boolean uncertain;
        LongIntMap approx;
        ApproxLru approxLog;
        /** Blocks of prompts routed here that the worker's events have not stored yet: hash -> requests waiting on it. */
        final LongIntMap pending = new LongIntMap();
        /** Purges so far ({@link #purge}): routes recorded before the last one hold nothing pending any more. */
        int epoch;
        /** Blocks of lazy routes' tails not hashed yet (for {@link #pendingBlocks}). */
        int lazyTailBlocks;

        Worker(String id, int slot, Space space, boolean exact, long maxBlocks) {
            this.id = id;
            this.slot = slot;
            this.space = space;
            this.exact = exact;
            this.log = exact ? null : new ApproxLru();
            this.maxBlocks = maxBlocks;
        }
    }

    /**
     * Workers of one block size and hash namespace, their index, and the current prompt's chain in that space. The
     * chain is hashed lazily ({@link BlockIndex.Chain}): a prompt whose first block nobody holds costs one block hash
     * instead of one per block; {@link #complete} hashes the rest when the whole chain is needed (recording a decision
     * for an approximate worker).
     */
    private static final class Space implements BlockIndex.Chain {
        final int blockSize;
        final BlockHasher hasher;
        final BlockIndex index = new BlockIndex();
        /** Blocks of prompts routed to this space's exact workers and not yet stored by their events (small). */
        final BlockIndex pending = new BlockIndex(64);
        /** Lazy routes not yet expanded, by their first block: first hash -> how many (checked on every match, unboxed). */
        final LongIntMap lazyFirst = new LongIntMap();
        final Map<Long, List<PendingRoute>> lazyRoutes = new HashMap<>();
        int workers;
        long[] chain = new long[64];
        /** Full blocks of the current prompt. */
        int chainLength;
        /** Blocks of the current prompt hashed so far ({@code chain[0, hashed)}). */
        int hashed;
        /** The reusable blocks of the current prompt: a worker never reuses the block holding the last token. */
        int reusable;
        /** The current prompt (valid until the next match) and the parent of block {@code hashed}. */
        private int[] tokens;
        private long parent;

        final byte[] scratch;
        /** The root hash of unsalted prompts (the common case), computed once. */
        final long unsaltedRoot;

        Space(int blockSize, String namespace) {
            this.blockSize = blockSize;
            this.hasher = new BlockHasher(namespace);
            this.scratch = new byte[8 + 4 * blockSize];
            this.unsaltedRoot = hasher.rootHash(null);
        }

        /** Starts the chain of a new prompt; nothing is hashed yet. */
        void start(int[] tokens, int length, String salt) {
            int full = length / blockSize;
            if (chain.length < full) chain = new long[Math.max(full, chain.length * 2)];
            this.tokens = tokens;
            this.parent = salt == null ? unsaltedRoot : hasher.rootHash(salt);
            chainLength = full;
            hashed = 0;
            reusable = Math.max(0, (length - 1) / blockSize);
        }

        @Override
        public long[] hashes(int end) {
            int n = Math.min(end, chainLength);
            long p = parent;
            for (int i = hashed; i < n; i++) {
                p = hasher.hashBlock(p, tokens, i * blockSize, blockSize, scratch);
                chain[i] = p;
            }
            if (n > hashed) {
                hashed = n;
                parent = p;
            }
            return chain;
        }

        /** Hashes every full block of the current prompt. */
        void complete() {
            hashes(chainLength);
        }
    }

    /**
     * Registers a worker and returns its slot. {@code namespace} is the model name its block hashes are salted with
     * ({@link BlockHasher#BlockHasher(String)}); {@code exact}: it publishes KV events; {@code maxBlocks}: for
     * approximate workers, the most blocks believed held (its cache size, or a default).
     */
    public int addWorker(String workerId, int blockSize, String namespace, boolean exact, long maxBlocks) {
        Objects.requireNonNull(workerId, "workerId");
        if (blockSize < 1) throw new IllegalArgumentException("block size must be >= 1, got " + blockSize);
        if (maxBlocks < 1) throw new IllegalArgumentException("max blocks must be >= 1, got " + maxBlocks);
        if (byId.containsKey(workerId)) throw new IllegalArgumentException("worker " + workerId + " is already indexed");
        Space space = spaces.computeIfAbsent(blockSize + "\0" + namespace, k -> new Space(blockSize, namespace));
        int slot = freeTop > 0 ? freeSlots[--freeTop] : slotTop++;
        if (slot >= bySlot.length) {
            bySlot = Arrays.copyOf(bySlot, Math.max(slot + 1, bySlot.length * 2));
            depth = Arrays.copyOf(depth, bySlot.length);
            blockSizeOf = Arrays.copyOf(blockSizeOf, bySlot.length);
        }
        blockSizeOf[slot] = blockSize;
        for (Space s : spaces.values()) {
            s.index.ensureSlot(slot);
            s.pending.ensureSlot(slot);
        }
        Worker w = new Worker(workerId, slot, space, exact, maxBlocks);
        space.workers++;
        bySlot[slot] = w;
        byId.put(workerId, w);
        return slot;
    }

    /** Forgets a worker at once: all its entries leave the index. Returns false if it was unknown. */
    public boolean removeWorker(String workerId) {
        Worker w = byId.remove(workerId);
        if (w == null) return false;
        purge(w);
        w.space.workers--;
        bySlot[w.slot] = null;
        if (freeTop == freeSlots.length) freeSlots = Arrays.copyOf(freeSlots, freeTop * 2);
        freeSlots[freeTop++] = w.slot;
        return true;
    }

    /** The slot of a worker, or -1. */
    public int slotOf(String workerId) {
        Worker w = byId.get(workerId);
        return w == null ? -1 : w.slot;
    }

    /** Applies (or buffers, or ignores) one KV event of a worker; see {@link Ingest}. */
    public Ingest ingest(String workerId, KvEvent event) {
        Worker w = byId.get(workerId);
        if (w == null || !w.exact) return Ingest.IGNORED;
        return ingest(w, event);
    }

    /**
     * Applies a worker's events in order (see {@link #ingest(String, KvEvent)}); returns true if one of them revealed
     * a gap, so the caller must fetch a snapshot.
     */
    public boolean ingestAll(String workerId, List<KvEvent> events) {
        Worker w = byId.get(workerId);
        if (w == null || !w.exact) return false;
        boolean gap = false;
        for (int i = 0, n = events.size(); i < n; i++) gap |= ingest(w, events.get(i)) == Ingest.RESYNC_NEEDED;
        return gap;
    }

    private Ingest ingest(Worker w, KvEvent event) {
        long id = event.eventId();
        if (w.resyncing) {
            if (id <= w.lastEventId) {
                eventsDuplicate++;
                return Ingest.DUPLICATE;
            }
            if (w.buffer.size() >= MAX_BUFFERED_EVENTS) {
                w.buffer.clear();
                w.bufferOverflowed = true;
            }
            w.buffer.add(event);
            return Ingest.BUFFERED;
        }
        if (id <= w.lastEventId) {
            eventsDuplicate++;
            return Ingest.DUPLICATE;
        }
        if (id != w.lastEventId + 1) {
            gaps++;
            w.resyncing = true;
            w.buffer = new ArrayList<>();
            w.buffer.add(event);
            return Ingest.RESYNC_NEEDED;
        }
        apply(w, event);
        return Ingest.APPLIED;
    }

    /**
     * Declares a gap the events themselves cannot show: the worker says (in a load report) it published events this
     * indexer never received and no later event came to reveal it. The worker's events are buffered from now on and
     * the caller must fetch a snapshot. Returns false if the worker is unknown, approximate or already resynchronising.
     */
    public boolean markGap(String workerId) {
        Worker w = byId.get(workerId);
        if (w == null || !w.exact || w.resyncing) return false;
        gaps++;
        w.resyncing = true;
        w.buffer = new ArrayList<>();
        return true;
    }

    /**
     * Continues after a gap when no snapshot can be had: the worker's entries are dropped (they may name blocks it
     * evicted during the gap) and its buffered events applied from the first one on. Returns false if the worker is
     * not resynchronising.
     */
    public boolean abandonResync(String workerId) {
        Worker w = byId.get(workerId);
        if (w == null || !w.resyncing) return false;
        purge(w);
        List<KvEvent> buffered = w.buffer;
        w.resyncing = false;
        w.buffer = null;
        w.bufferOverflowed = false;
        if (!buffered.isEmpty()) w.lastEventId = buffered.getFirst().eventId() - 1;
        replay(w, buffered);
        return true;
    }

    /**
     * Replaces a resynchronising worker's entries with a snapshot and replays the buffered events newer than it.
     * Returns true when the worker is in step again; false when it needs another snapshot (the buffered events do
     * not continue where the snapshot ends, or the buffer overflowed) or is unknown.
     */
    public boolean applySnapshot(String workerId, KvCacheSnapshot snapshot) {
        Worker w = byId.get(workerId);
        if (w == null || !w.exact) return false;
        purge(w);
        if (snapshot.complete()) {
            w.uncertain = false;
        } else if (!w.uncertain) {
            w.uncertain = true;
            if (w.approx == null) {
                w.approx = new LongIntMap();
                w.approxLog = new ApproxLru();
            }
        }
        for (KvTier tier : KvTier.values()) {
            int bit = bit(tier);
            for (long h : snapshot.hashes(tier)) {
                int m = w.held.put(h, w.held.get(h) | bit);
                if (m == 0) {
                    w.space.index.add(h, w.slot);
                    entries++;
                }
            }
        }
        snapshotsApplied++;
        w.lastEventId = snapshot.lastEventId();
        List<KvEvent> buffered = w.buffer == null ? List.of() : w.buffer;
        boolean overflowed = w.bufferOverflowed;
        w.resyncing = false;
        w.buffer = null;
        w.bufferOverflowed = false;
        int from = 0;
        while (from < buffered.size() && buffered.get(from).eventId() <= w.lastEventId) from++;
        if (overflowed || (from < buffered.size() && buffered.get(from).eventId() != w.lastEventId + 1)) {
            w.resyncing = true;
            w.buffer = new ArrayList<>(buffered.subList(from, buffered.size()));
            return false;
        }
        replay(w, buffered.subList(from, buffered.size()));
        return !w.resyncing;
    }

    /** Whether the router routes a worker by its own decisions: it publishes no events, or its cache is partly unknown. */
    public boolean routesApproximately(int slot) {
        Worker w = bySlot[slot];
        return w != null && (!w.exact || w.uncertain);
    }

    /** Whether an exact worker's cache is partly unknown (see the class comment). */
    public boolean uncertain(String workerId) {
        Worker w = byId.get(workerId);
        return w != null && w.uncertain;
    }

    /** Whether a worker is waiting for a snapshot. */
    public boolean resyncing(String workerId) {
        Worker w = byId.get(workerId);
        return w != null && w.resyncing;
    }

    /** The id of the last event applied for a worker (0 before any), or -1 if unknown. */
    public long lastEventId(String workerId) {
        Worker w = byId.get(workerId);
        return w == null ? -1 : w.lastEventId;
    }

    /**
     * Computes every worker's cached prefix of {@code tokens} (with cache salt {@code salt}): afterwards
     * {@link #overlapBlocks(int)} and {@link #overlapTokens(int)} give it per slot until the next call. Only blocks a
     * worker would reuse count: whole blocks before the one holding the last token (that one is always computed).
     */
    public void match(int[] tokens, int length, String salt) {
        clearMatch();
        for (Space s : spaces.values()) {
            if (s.workers == 0) continue;
            s.start(tokens, length, salt);
            int deepest = s.index.match(s, s.reusable, depth, touched);
            // index.match hashed the first block; a lazily recorded prompt starting with it is expanded first.
            if (s.reusable > 0 && s.lazyFirst.size() > 0 && s.lazyFirst.get(s.chain[0]) != 0) expandLazy(s, s.chain[0]);
            s.pending.extend(s.index, s, s.reusable, depth, touched, extended, deepest);
        }
    }

    /** Blocks of the last matched prompt that the worker in {@code slot} holds (as a cached prefix). */
    public int overlapBlocks(int slot) {
        return depth[slot];
    }

    /** Tokens of the last matched prompt that the worker in {@code slot} holds (as a cached prefix). */
    public int overlapTokens(int slot) {
        return depth[slot] * blockSizeOf[slot];
    }

    /** How many worker slots the last {@link #match} touched (they hold the prompt's first block). */
    public int touchedCount() {
        return touched.size;
    }

    /** The j-th slot the last {@link #match} touched (each at most once). */
    public int touchedSlot(int j) {
        return touched.slots[j];
    }

    /** Resets the per-slot results of the last {@link #match}. */
    public void clearMatch() {
        for (int i = 0; i < touched.size; i++) depth[touched.slots[i]] = 0;
        touched.clear();
        extended.clear();
    }

    /**
     * After {@link #match}: records that the last matched prompt was sent to the approximate worker {@code workerId}
     * at {@code now}: it will hold the prompt's full blocks for the TTL. No-op for exact workers.
     */
    public void recordRouted(String workerId, long now) {
        Worker w = byId.get(workerId);
        if (w == null) return;
        if (!w.uncertain && w.exact) return;
        w.space.complete();
        if (w.uncertain) recordUncertain(w, w.space.chain, w.space.chainLength, now);
        else record(w, w.space.chain, w.space.chainLength, now);
    }

    /** Records that blocks {@code hashes} (a prompt's chain in the worker's block size) were sent to an approximate worker. */
    public void recordRouted(String workerId, long[] hashes, long now) {
        Worker w = byId.get(workerId);
        if (w == null) return;
        if (w.uncertain) recordUncertain(w, hashes, hashes.length, now);
        else if (!w.exact) record(w, hashes, hashes.length, now);
    }

    /** Approximate entries of an uncertain worker for blocks it is not known (exactly) to hold. */
    private void recordUncertain(Worker w, long[] hashes, int n, long now) {
        for (int i = 0; i < n; i++) {
            long h = hashes[i];
            if (w.held.get(h) != 0) continue;
            int entry = w.approx.get(h);
            if (entry != 0) {
                w.approxLog.touch(entry - 1, now);
            } else {
                w.approx.put(h, w.approxLog.add(h, now) + 1);
                w.space.index.add(h, w.slot);
                entries++;
            }
        }
        while (w.approx.size() > w.maxBlocks) dropOldestApprox(w);
    }

    private void dropOldestApprox(Worker w) {
        long h = w.approxLog.popOldest();
        w.approx.remove(h);
        w.space.index.remove(h, w.slot);
        entries--;
    }

    /** Drops an uncertain worker's approximate entry for {@code h}; returns whether there was one. The index entry stays unless {@code unindex}. */
    private boolean dropApprox(Worker w, long h, boolean unindex) {
        if (!w.uncertain) return false;
        int entry = w.approx.get(h);
        if (entry == 0) return false;
        w.approxLog.remove(entry - 1);
        w.approx.remove(h);
        if (unindex) {
            w.space.index.remove(h, w.slot);
            entries--;
        }
        return true;
    }

    /** After {@link #match}: the last matched prompt's full-block hashes in the worker's block size (a copy). */
    public long[] lastChain(String workerId) {
        Worker w = byId.get(workerId);
        if (w == null) return new long[0];
        w.space.complete();
        return Arrays.copyOf(w.space.chain, w.space.chainLength);
    }

    /**
     * After {@link #match}: the last matched prompt was routed to the exact worker {@code workerId} as request
     * {@code requestId}: its full blocks the worker does not hold count as held there until the worker's events store
     * them, {@link #releasePending} or the TTL. No-op for approximate and uncertain workers (their entries come from
     * {@link #recordRouted}). A request id recorded again replaces its earlier record.
     */
    public void recordPending(String requestId, String workerId, long now) {
        releasePending(requestId);
        Worker w = byId.get(workerId);
        if (w == null || !w.exact || w.uncertain) return;
        Space s = w.space;
        // Blocks past the prefix the worker's events gave it (those another request made pending count for this one
        // too; a block it holds beyond a hole is pending as well: harmless, it goes when the request ends).
        int from = depth[w.slot];
        for (int i = 0; i < extended.size; i += 2) if (extended.slots[i] == w.slot) from = extended.slots[i + 1];
        int n = s.chainLength;
        if (from >= n) return;
        if (s.hashed == 1 && n > 1) {
            // The match hashed the first block only: nobody holds it in either index (from is 0). Record it, and the
            // rest as tokens (see PendingRoute).
            PendingRoute r = new PendingRoute(w, new long[] {s.chain[0]}, Arrays.copyOfRange(s.tokens, s.blockSize, n * s.blockSize), now);
            addPending(w, s.chain[0]);
            w.lazyTailBlocks += n - 1;
            s.lazyFirst.put(s.chain[0], s.lazyFirst.get(s.chain[0]) + 1);
            s.lazyRoutes.computeIfAbsent(s.chain[0], k -> new ArrayList<>(1)).add(r);
            pendingRoutes.put(requestId, r);
            return;
        }
        s.complete();
        long[] hashes = Arrays.copyOfRange(s.chain, from, n);
        for (long h : hashes) addPending(w, h);
        pendingRoutes.put(requestId, new PendingRoute(w, hashes, null, now));
    }

    private static void addPending(Worker w, long h) {
        int waiting = w.pending.get(h);
        w.pending.put(h, waiting + 1);
        if (waiting == 0) w.space.pending.add(h, w.slot);
    }

    /**
     * A prompt starting with block {@code first} is being matched: the lazy routes starting with it hash the rest of
     * their chains and count those blocks as pending, as {@link #recordPending} would have at once (less the blocks
     * the worker's events stored meanwhile, which are in the main index).
     */
    private void expandLazy(Space s, long first) {
        s.lazyFirst.remove(first);
        List<PendingRoute> routes = s.lazyRoutes.remove(first);
        if (routes == null) return;
        int b = s.blockSize;
        for (PendingRoute r : routes) {
            int[] tail = r.tail;
            r.tail = null;
            Worker w = r.worker;
            if (bySlot[w.slot] != w || w.epoch != r.epoch) continue; // left or purged: nothing of it is pending
            int blocks = tail.length / b;
            w.lazyTailBlocks -= blocks;
            long[] hashes = Arrays.copyOf(r.hashes, 1 + blocks);
            int k = 1;
            long h = first;
            for (int i = 0; i < blocks; i++) {
                h = s.hasher.hashBlock(h, tail, i * b, b, s.scratch);
                if (w.held.get(h) != 0) continue;
                addPending(w, h);
                hashes[k++] = h;
            }
            r.hashes = Arrays.copyOf(hashes, k);
        }
    }

    /** The request ended (or will not run): its pending blocks no longer count, unless another request waits on them. */
    public void releasePending(String requestId) {
        PendingRoute r = pendingRoutes.remove(requestId);
        if (r == null) return;
        Worker w = r.worker;
        if (r.tail != null) {
            Space s = w.space;
            long first = r.hashes[0];
            List<PendingRoute> routes = s.lazyRoutes.get(first);
            routes.remove(r);
            if (routes.isEmpty()) {
                s.lazyRoutes.remove(first);
                s.lazyFirst.remove(first);
            } else {
                s.lazyFirst.put(first, routes.size());
            }
            if (w.epoch == r.epoch) w.lazyTailBlocks -= r.tail.length / s.blockSize;
            r.tail = null;
        }
        // The worker left (its entries went with it) or was purged since (its pending blocks with them).
        if (bySlot[w.slot] != w || w.epoch != r.epoch) return;
        for (long h : r.hashes) {
            int waiting = w.pending.get(h);
            if (waiting == 0) continue; // stored by the worker since, or dropped by a resync
            if (waiting > 1) {
                w.pending.put(h, waiting - 1);
            } else {
                w.pending.remove(h);
                w.space.pending.remove(h, w.slot);
            }
        }
    }

    /** Blocks of a worker pending (routed there, not yet stored by its events), for tests and diagnostics. */
    public int pendingBlocks(String workerId) {
        Worker w = byId.get(workerId);
        return w == null ? 0 : w.pending.size() + w.lazyTailBlocks;
    }

    /** The worker's events stored a pending block: it leaves the pending index (it is in the main one now). */
    private static void confirmPending(Worker w, long h) {
        if (w.pending.size() > 0 && w.pending.remove(h) != 0) w.space.pending.remove(h, w.slot);
    }

    private void record(Worker w, long[] hashes, int n, long now) {
        Space s = w.space;
        for (int i = 0; i < n; i++) {
            long h = hashes[i];
            int entry = w.held.get(h);
            if (entry != 0) {
                w.log.touch(entry - 1, now);
            } else {
                w.held.put(h, w.log.add(h, now) + 1);
                s.index.add(h, w.slot);
                entries++;
            }
        }
        while (w.held.size() > w.maxBlocks) dropOldest(w);
    }

    /** Sets the most blocks an approximate worker is believed to hold (e.g. its reported KV cache size). */
    public void setMaxBlocks(String workerId, long maxBlocks) {
        Worker w = byId.get(workerId);
        if (w == null || maxBlocks < 1) return;
        w.maxBlocks = maxBlocks;
        if (!w.exact) while (w.held.size() > w.maxBlocks) dropOldest(w);
        if (w.uncertain) while (w.approx.size() > w.maxBlocks) dropOldestApprox(w);
    }

    /** Expires approximate entries last sent before {@code now - ttl}. */
    public void expire(long now) {
        long cutoff = now - approxTtlNanos;
        while (!pendingRoutes.isEmpty()) {
            var oldest = pendingRoutes.firstEntry();
            if (oldest.getValue().since > cutoff) break;
            releasePending(oldest.getKey());
        }
        for (int i = 0; i < slotTop; i++) {
            Worker w = bySlot[i];
            if (w == null) continue;
            if (w.uncertain) while (!w.approxLog.isEmpty() && w.approxLog.oldestTime() <= cutoff) dropOldestApprox(w);
            if (w.exact) continue;
            while (!w.log.isEmpty() && w.log.oldestTime() <= cutoff) dropOldest(w);
        }
    }

    /** The block size of the worker in {@code slot}. */
    public int blockSize(int slot) {
        return bySlot[slot].space.blockSize;
    }

    /** Blocks a worker holds according to the index (0 if unknown). */
    public int blocksHeld(String workerId) {
        Worker w = byId.get(workerId);
        return w == null ? 0 : w.held.size() + approxSize(w);
    }

    private static int approxSize(Worker w) {
        return w.uncertain ? w.approx.size() : 0;
    }

    /** Tokens a worker holds according to the index: its blocks times its block size (0 if unknown). */
    public long tokensHeld(String workerId) {
        Worker w = byId.get(workerId);
        return w == null ? 0 : (long) (w.held.size() + approxSize(w)) * w.space.blockSize;
    }

    /** Blocks held by slot {@code slot}. */
    public int blocksHeld(int slot) {
        Worker w = bySlot[slot];
        return w == null ? 0 : w.held.size() + approxSize(w);
    }

    /** The hashes a worker holds according to the index, sorted (for tests and diagnostics). */
    public long[] heldHashes(String workerId) {
        Worker w = byId.get(workerId);
        if (w == null) return new long[0];
        long[] out = new long[w.held.size() + approxSize(w)];
        int[] k = {0};
        w.held.forEachKey(h -> out[k[0]++] = h);
        if (w.uncertain) w.approx.forEachKey(h -> out[k[0]++] = h);
        Arrays.sort(out);
        return out;
    }

    /** Workers indexed. */
    public int workers() {
        return byId.size();
    }

    /** (block, worker) entries over all workers. */
    public long entries() {
        return entries;
    }

    /** Distinct blocks held by at least one worker, over all spaces. */
    public long uniqueBlocks() {
        long n = 0;
        for (Space s : spaces.values()) n += s.index.blocks();
        return n;
    }

    public long eventsApplied() {
        return eventsApplied;
    }

    public long eventsDuplicate() {
        return eventsDuplicate;
    }

    public long gaps() {
        return gaps;
    }

    public long snapshotsApplied() {
        return snapshotsApplied;
    }

    /** Bytes held by the index structures (tables, sets, per-worker maps), for the memory benchmark. */
    public long footprintBytes() {
        long n = 0;
        for (Space s : spaces.values()) n += s.index.footprintBytes() + s.pending.footprintBytes();
        for (Worker w : byId.values()) {
            n += w.held.footprintBytes() + (w.log == null ? 0 : w.log.footprintBytes());
            if (w.approx != null) n += w.approx.footprintBytes() + w.approxLog.footprintBytes();
            n += w.pending.footprintBytes();
        }
        return n;
    }

    /** Bytes of {@link #footprintBytes} off the Java heap: the spaces' index tables. */
    public long offHeapBytes() {
        long n = 0;
        for (Space s : spaces.values()) n += s.index.offHeapBytes() + s.pending.offHeapBytes();
        return n;
    }

    private void apply(Worker w, KvEvent event) {
        w.lastEventId = event.eventId();
        eventsApplied++;
        switch (event) {
            case KvEvent.BlockStored s -> {
                long h = s.blockHash();
                confirmPending(w, h);
                if (w.held.orBits(h, bit(s.tier())) == 0 && !dropApprox(w, h, false)) { // a confirmed guess keeps its index entry
                    w.space.index.add(h, w.slot);
                    entries++;
                }
            }
            case KvEvent.BlockRemoved r -> {
                long h = r.blockHash();
                int m = w.held.get(h);
                if (m == 0) {
                    dropApprox(w, h, true);
                    return;
                }
                int left = m & ~bit(r.tier());
                if (left == 0) {
                    w.held.remove(h);
                    w.space.index.remove(h, w.slot);
                    entries--;
                } else {
                    w.held.put(h, left);
                }
            }
            case KvEvent.AllBlocksCleared c -> {
                purge(w);
                w.uncertain = false; // the worker's cache is known again: empty
            }
        }
    }

    private static int bit(KvTier tier) {
        return 1 << tier.ordinal();
    }

    private void replay(Worker w, List<KvEvent> events) {
        for (KvEvent e : events) {
            if (w.resyncing) {
                w.buffer.add(e);
                continue;
            }
            if (e.eventId() <= w.lastEventId) continue;
            if (e.eventId() != w.lastEventId + 1) {
                gaps++;
                w.resyncing = true;
                w.buffer = new ArrayList<>();
                w.buffer.add(e);
                continue;
            }
            apply(w, e);
        }
    }

    private void purge(Worker w) {
        BlockIndex index = w.space.index;
        int slot = w.slot;
        w.held.forEachKey(h -> index.remove(h, slot));
        entries -= w.held.size();
        w.held.clear();
        if (w.log != null) w.log.clear();
        if (w.approx != null) {
            w.approx.forEachKey(h -> index.remove(h, slot));
            entries -= w.approx.size();
            w.approx.clear();
            w.approxLog.clear();
        }
        w.epoch++;
        w.lazyTailBlocks = 0;
        if (w.pending.size() > 0) {
            // The requests' records stay; releasing them finds nothing left to release.
            BlockIndex pending = w.space.pending;
            w.pending.forEachKey(h -> pending.remove(h, slot));
            w.pending.clear();
        }
    }

    private void dropOldest(Worker w) {
        long h = w.log.popOldest();
        w.held.remove(h);
        w.space.index.remove(h, w.slot);
        entries--;
    }
}
