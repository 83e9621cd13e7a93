package ai.armature.serving.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

import ai.armature.protocol.kv.KvTier;
import ai.armature.protocol.kv.KvTierStats;
import ai.armature.serving.runner.KvLayout;
import ai.armature.serving.runner.ModelRunner;

/**
 * The tiers below a worker's device pool: host memory (G2) and disk (G3), and the {@link KvMover} thread that copies
 * blocks between them and the pool. Engine thread only, except what the mover runs.
 *
 * <p>Policy:
 * <ul>
 *   <li><b>Copy down when cached.</b> A block is copied to the first lower tier when it becomes cached in G1 (full
 *       and computed), while sequences still use it, not when G1 evicts it: by the time G1 needs the slot the copy is
 *       long done, and eviction never waits for it (the pool skips blocks whose copy is still queued, see
 *       {@link BlockPool#pin}). Blocks evicted from G2 are copied on to G3 if G3 does not hold them yet.</li>
 *   <li><b>Copies may overlap.</b> A block may be held by several tiers at once (G1 and G2, G2 and G3, all three);
 *       each tier has its own LRU order, a hit in an upper tier also refreshes the lower copies, and each tier's copy
 *       is published by its own stored / removed events.</li>
 *   <li><b>Copy up on a hit.</b> A prefix lookup that misses G1 but finds a block in G2 or G3 gets a fresh G1 block
 *       for it and queues a copy up; the sequence waits for its copies, then computes the rest. A copy that fails (a
 *       corrupt or missing file) drops that block from its tier and the sequence recomputes from there.</li>
 * </ul>
 * Index changes (and their events) happen when a copy is queued; the mover runs copies in that order.
 */
final class LowerTiers implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LowerTiers.class.getName());

    /** A copy for the mover. */
    sealed interface Job {
    }

    /** G1 block {@code block} (cached under {@code hash}) down to host slot {@code host}, or to disk file {@code disk}. */
    record Offload(int block, HostTier.Entry host, DiskTier.Entry disk) implements Job {
    }

    /** Host slot {@code from} down to disk file {@code to}. */
    record Spill(HostTier.Entry from, DiskTier.Entry to) implements Job {
    }

    /** A host slot or a disk file up to G1 block {@code block}, for {@code table} (as of its {@code epoch}). */
    record Onboard(HostTier.Entry host, DiskTier.Entry disk, int block, BlockTable table, int epoch) implements Job {
        long hash() {
            return host != null ? host.hash() : disk.hash();
        }

        long parentHash() {
            return host != null ? host.parentHash() : disk.parentHash();
        }

        int[] tokens() {
            return host != null ? host.tokens() : disk.tokens();
        }

        KvTier from() {
            return host != null ? KvTier.HOST : KvTier.DISK;
        }
    }

    record Delete(DiskTier.Entry entry) implements Job {
    }

    record DeleteAll() implements Job {
    }

    /** Told when a copy up finished, on the engine thread. */
    interface OnboardListener {
        void onboarded(Onboard job, boolean ok);
    }

    /** Bytes and time moved into (down) and out of (up) one tier; written by the mover, read by anyone. */
    static final class Traffic {
        final AtomicLong downBlocks = new AtomicLong(), downBytes = new AtomicLong(), downNanos = new AtomicLong();
        final AtomicLong upBlocks = new AtomicLong(), upBytes = new AtomicLong(), upNanos = new AtomicLong();

        void down(long bytes, long nanos) {
            downBlocks.incrementAndGet();
            downBytes.addAndGet(bytes);
            downNanos.addAndGet(nanos);
        }

        void up(long bytes, long nanos) {
            upBlocks.incrementAndGet();
            upBytes.addAndGet(bytes);
            upNanos.addAndGet(nanos);
        }

        KvTierStats stats(KvTier tier, long blocks, long capacity, long bytesPerBlock, long hits, long dropped) {
            return new KvTierStats(tier, blocks, capacity, blocks * bytesPerBlock, hits, downBlocks.get(), downBytes.get(),
                    downNanos.get() / 1e9, upBlocks.get(), upBytes.get(), upNanos.get() / 1e9, dropped);
        }
    }

    private record Pending(KvMover.Done<Job> done, boolean unpinned) {
    }

    private final ModelRunner runner;
    private final KvLayout layout;
    private final BlockPool pool;
    private final KvEventSequencer events;
    private final HostTier host;
    private final DiskTier disk;
    private final KvMover<Job> mover;
    private final Arena stagingArena = Arena.ofShared();
    private final MemorySegment staging;
    private final boolean[] hostSlotValid; // mover thread only: the slot's last copy in succeeded
    final Traffic hostTraffic = new Traffic(), diskTraffic = new Traffic();
    private final List<Pending> deferred = new ArrayList<>();
    private long hostHits, diskHits, hostDropped, diskDropped;
    private int onboardsInFlight;

    LowerTiers(KvTierConfig config, ModelRunner runner, BlockPool pool, KvEventSequencer events) {
        this.runner = runner;
        this.layout = runner.kvLayout().orElseThrow(() -> new IllegalArgumentException(
                "--kv-host-memory and --kv-disk-dir need a runner that can copy KV blocks out and in; " + runner.modelName() + "'s cannot"));
        this.pool = pool;
        this.events = events;
        HostTier h = null;
        DiskTier d = null;
        try {
            if (config.hasHost()) h = new HostTier(config.hostBytes(), layout.blockBytes());
            if (config.hasDisk()) d = new DiskTier(config.diskDir(), config.diskBytes(), layout);
        } catch (RuntimeException e) {
            if (h != null) h.close();
            stagingArena.close();
            throw e;
        }
        this.host = h;
        this.disk = d;
        this.hostSlotValid = h == null ? new boolean[0] : new boolean[h.capacity()];
        this.staging = stagingArena.allocate(d == null ? layout.blockBytes() : Math.max(layout.blockBytes(), d.fileBytes()), 64);
        if (disk != null) {
            for (DiskTier.Entry e : disk.index().entries()) events.stored(e.hash(), e.parentHash(), e.tokens(), 0, e.tokens().length, KvTier.DISK);
            int found = disk.index().size();
            if (found > 0) LOG.info(() -> "KV disk tier " + config.diskDir() + ": " + found + " blocks re-indexed");
        }
        this.mover = new KvMover<>("armature-kv-mover-" + runner.modelName(), this::run);
    }

    boolean hasHost() {
        return host != null;
    }

    boolean hasDisk() {
        return disk != null;
    }

    /** The lower tier holding {@code hash} (host first), or null; changes no LRU order. */
    KvTier locate(long hash) {
        if (host != null && host.index().contains(hash)) return KvTier.HOST;
        if (disk != null && disk.index().contains(hash)) return KvTier.DISK;
        return null;
    }

    /** A prefix hit used {@code hash}: its lower copies become most recently used. */
    void touch(long hash) {
        if (host != null) host.index().touch(hash);
        if (disk != null) disk.index().touch(hash);
    }

    /** G1 block {@code block} was just cached under {@code hash}: copy it to the first lower tier that lacks it. */
    void offload(int block, long hash, long parentHash, int[] tokens, int from) {
        if (host != null) {
            if (host.index().touch(hash) != null) return;
            if (host.full()) evictHost();
            HostTier.Entry e = host.insert(hash, parentHash, java.util.Arrays.copyOfRange(tokens, from, from + layout.blockSize()));
            pool.pin(block);
            mover.submit(new Offload(block, e, null));
            events.stored(hash, parentHash, e.tokens(), 0, e.tokens().length, KvTier.HOST);
        } else if (disk != null) {
            if (disk.index().touch(hash) != null) return;
            DiskTier.Entry e = insertDisk(hash, parentHash, java.util.Arrays.copyOfRange(tokens, from, from + layout.blockSize()));
            pool.pin(block);
            mover.submit(new Offload(block, null, e));
        }
    }

    /** Frees the least recently used host slot, spilling its block to disk first if disk lacks it. */
    private void evictHost() {
        HostTier.Entry old = host.index().eldest();
        host.remove(old);
        events.removed(old.hash(), KvTier.HOST);
        if (disk != null && disk.index().touch(old.hash()) == null) {
            // Queued before any later copy into the same slot, so it reads the old block.
            mover.submit(new Spill(old, insertDisk(old.hash(), old.parentHash(), old.tokens())));
        }
    }

    private DiskTier.Entry insertDisk(long hash, long parentHash, int[] tokens) {
        if (disk.full()) {
            DiskTier.Entry old = disk.index().eldest();
            disk.index().remove(old);
            mover.submit(new Delete(old));
            events.removed(old.hash(), KvTier.DISK);
        }
        DiskTier.Entry e = disk.insert(hash, parentHash, tokens);
        events.stored(hash, parentHash, tokens, 0, tokens.length, KvTier.DISK);
        return e;
    }

    /**
     * Queues the copy of {@code hash} from {@code tier} into G1 block {@code block}, which the caller allocated and
     * retained for the copy; the listener hears of it in {@link #poll}.
     */
    void onboard(long hash, KvTier tier, int block, BlockTable table) {
        Onboard job = switch (tier) {
            case HOST -> {
                hostHits++;
                yield new Onboard(host.index().touch(hash), null, block, table, table.epoch);
            }
            case DISK -> {
                diskHits++;
                yield new Onboard(null, disk.index().touch(hash), block, table, table.epoch);
            }
            case DEVICE -> throw new IllegalArgumentException("a device block needs no copy");
        };
        if (job.host() == null && job.disk() == null) throw new IllegalStateException("block " + hash + " is not in " + tier);
        table.loading++;
        onboardsInFlight++;
        mover.submit(job);
    }

    /** Copies up still running. */
    int onboardsInFlight() {
        return onboardsInFlight;
    }

    /** Takes finished copies (unpins, drops failed blocks, reports copies up) without waiting. */
    void poll(OnboardListener listener) {
        if (!deferred.isEmpty()) {
            List<Pending> d = List.copyOf(deferred);
            deferred.clear();
            for (Pending p : d) finish(p, listener);
        }
        mover.drain(done -> finish(new Pending(done, false), listener));
    }

    /** Waits (a bounded time) for one finished copy and takes what finished, as {@link #poll}. */
    void await(OnboardListener listener) {
        try {
            mover.await(done -> finish(new Pending(done, false), listener), 50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for KV copies", e);
        }
        poll(listener);
    }

    /**
     * Waits for finished copies but only unpins G1 blocks, leaving everything else for the next {@link #poll}: for
     * a caller in the middle of an allocation, which must not see lower-tier entries disappear.
     */
    void awaitUnpin() {
        try {
            mover.await(done -> {
                if (done.job() instanceof Offload o) {
                    pool.unpin(o.block());
                    if (done.failure() != null) deferred.add(new Pending(done, true));
                } else {
                    deferred.add(new Pending(done, false));
                }
            }, 50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for KV copies", e);
        }
    }

    /** Waits until every queued copy has finished and been taken. */
    void drainAll(OnboardListener listener) {
        poll(listener);
        while (mover.inFlight() > 0) await(listener);
    }

    private void finish(Pending p, OnboardListener listener) {
        KvMover.Done<Job> done = p.done();
        Exception failure = done.failure();
        switch (done.job()) {
            case Offload o -> {
                if (!p.unpinned()) pool.unpin(o.block());
                if (failure != null) {
                    LOG.warning(() -> "KV block copy down failed: " + failure.getMessage());
                    if (o.host() != null) dropHost(o.host());
                    if (o.disk() != null) dropDisk(o.disk());
                }
            }
            case Spill s -> {
                if (failure != null) {
                    LOG.warning(() -> "KV block copy to disk failed: " + failure.getMessage());
                    dropDisk(s.to());
                }
            }
            case Onboard o -> {
                onboardsInFlight--;
                if (failure != null) {
                    LOG.warning(() -> "KV block copy up failed, the block is recomputed: " + failure.getMessage());
                    if (o.host() != null) dropHost(o.host());
                    if (o.disk() != null) dropDisk(o.disk());
                }
                listener.onboarded(o, failure == null);
            }
            case Delete d -> {
                if (failure != null) LOG.warning(() -> "cannot delete a KV block file: " + failure.getMessage());
            }
            case DeleteAll d -> {
                if (failure != null) LOG.warning(() -> "cannot delete the KV block files: " + failure.getMessage());
            }
        }
    }

    private void dropHost(HostTier.Entry e) {
        if (host.remove(e)) {
            hostDropped++;
            events.removed(e.hash(), KvTier.HOST);
        }
    }

    private void dropDisk(DiskTier.Entry e) {
        if (disk.index().remove(e)) {
            diskDropped++;
            events.removed(e.hash(), KvTier.DISK);
            mover.submit(new Delete(e));
        }
    }

    /** Forgets every lower-tier block (after {@link #drainAll}); the caller publishes the reset. */
    void clear() {
        if (host != null) host.clear();
        if (disk != null) {
            disk.index().clear();
            mover.submit(new DeleteAll());
        }
    }

    // ---- the mover thread ----

    private void run(Job job) throws Exception {
        long start = System.nanoTime();
        switch (job) {
            case Offload o when o.host() != null -> {
                int slot = o.host().slot();
                hostSlotValid[slot] = false;
                runner.exportBlock(o.block(), host.slot(slot), 0);
                hostSlotValid[slot] = true;
                hostTraffic.down(layout.blockBytes(), System.nanoTime() - start);
            }
            case Offload o -> {
                runner.exportBlock(o.block(), staging, 0);
                disk.write(o.disk(), staging.asSlice(0, layout.blockBytes()));
                diskTraffic.down(layout.blockBytes(), System.nanoTime() - start);
            }
            case Spill s -> {
                if (!hostSlotValid[s.from().slot()]) throw new IllegalStateException("host slot " + s.from().slot() + " holds no valid block");
                disk.write(s.to(), host.slot(s.from().slot()));
                diskTraffic.down(layout.blockBytes(), System.nanoTime() - start);
            }
            case Onboard o when o.host() != null -> {
                if (!hostSlotValid[o.host().slot()]) throw new IllegalStateException("host slot " + o.host().slot() + " holds no valid block");
                runner.importBlock(host.slot(o.host().slot()), 0, o.block());
                hostTraffic.up(layout.blockBytes(), System.nanoTime() - start);
            }
            case Onboard o -> {
                long offset = disk.read(o.disk(), staging);
                runner.importBlock(staging, offset, o.block());
                diskTraffic.up(layout.blockBytes(), System.nanoTime() - start);
            }
            case Delete d -> disk.delete(d.entry());
            case DeleteAll d -> disk.deleteAll();
        }
    }

    // ---- stats ----

    /** The engine-thread side of the counters, as last published. */
    private record Counts(int hostBlocks, long hostHits, long hostDropped, int diskBlocks, long diskHits, long diskDropped) {
    }

    private volatile Counts counts = new Counts(0, 0, 0, 0, 0, 0);

    /** Publishes the engine-thread counters for {@link #stats()} (engine thread). */
    void publish() {
        counts = new Counts(host == null ? 0 : host.index().size(), hostHits, hostDropped, disk == null ? 0 : disk.index().size(), diskHits,
                diskDropped + (disk == null ? 0 : disk.droppedAtStart()));
    }

    /** Per-tier counters: blocks and hits as last published, copies as of now. Thread-safe. */
    List<KvTierStats> stats() {
        Counts c = counts;
        List<KvTierStats> out = new ArrayList<>(2);
        if (host != null) {
            out.add(hostTraffic.stats(KvTier.HOST, c.hostBlocks(), host.capacity(), layout.blockBytes(), c.hostHits(), c.hostDropped()));
        }
        if (disk != null) {
            out.add(diskTraffic.stats(KvTier.DISK, c.diskBlocks(), disk.capacity(), disk.fileBytes(), c.diskHits(), c.diskDropped()));
        }
        return out;
    }

    java.util.Set<Long> hostHashes() {
        return host == null ? java.util.Set.of() : host.index().hashes();
    }

    java.util.Set<Long> diskHashes() {
        return disk == null ? java.util.Set.of() : disk.index().hashes();
    }

    /**
     * Writes the host-memory blocks the disk lacks to disk (so a restart keeps them), finishes the queued copies (so
     * disk writes land), then frees host memory and unlocks the disk directory. After the last step.
     */
    @Override
    public void close() {
        if (host != null && disk != null) {
            for (HostTier.Entry e : host.index().entries()) {
                if (disk.index().touch(e.hash()) == null) mover.submit(new Spill(e, insertDisk(e.hash(), e.parentHash(), e.tokens())));
            }
        }
        mover.close();
        if (host != null) host.close();
        if (disk != null) disk.close();
        stagingArena.close();
    }
}
