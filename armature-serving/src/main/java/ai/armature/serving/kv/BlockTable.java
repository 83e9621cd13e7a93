package ai.armature.serving.kv;

import java.util.Arrays;

import ai.armature.protocol.kv.BlockHasher;

/**
 * One sequence's KV blocks: block {@code i} of the table holds positions {@code [i * B, (i + 1) * B)}, with the
 * chained hashes of the sequence's full blocks. Created and changed by {@link KvCacheManager} only; the scheduler
 * and the runner read it.
 *
 * <p>Invariants: blocks {@code [0, cachedBlocks())} are registered in the prefix cache (computed here or reused
 * from it) and are never written again; blocks from {@code cachedBlocks()} on are private to this sequence.
 */
public final class BlockTable {

    private int[] ids = new int[16];
    private int size;
    private int cachedBlocks;
    final BlockHasher.Chain chain;
    /** Bumped each time the table is emptied, so a copy that finishes after that leaves it alone. */
    int epoch;
    /** Blocks being copied up from a lower tier; the sequence computes nothing until they are in. */
    int loading;
    /** A copy up failed: the sequence must start over (its lookup then misses the dropped block). */
    boolean loadFailed;

    BlockTable(BlockHasher.Chain chain) {
        this.chain = chain;
    }

    /** The block ids; entries {@code [0, size())} are valid. The live array: read it, never keep or change it. */
    public int[] ids() {
        return ids;
    }

    public int size() {
        return size;
    }

    /** Block id {@code i < size()}. */
    public int block(int i) {
        return ids[i];
    }

    /** Leading blocks registered in (or reused from) the prefix cache. */
    public int cachedBlocks() {
        return cachedBlocks;
    }

    /** The chained hashes computed so far for this sequence's tokens. */
    public BlockHasher.Chain hashes() {
        return chain;
    }

    void add(int block) {
        if (size == ids.length) ids = Arrays.copyOf(ids, ids.length * 2);
        ids[size++] = block;
    }

    void cachedBlocks(int n) {
        cachedBlocks = n;
    }

    void clear() {
        size = 0;
        cachedBlocks = 0;
        epoch++;
        loading = 0;
        loadFailed = false;
    }
}
