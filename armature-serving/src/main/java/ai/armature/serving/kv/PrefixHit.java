package ai.armature.serving.kv;

import ai.armature.protocol.kv.KvTier;

/**
 * The result of a prefix-cache lookup for one sequence: its first {@code blocks} full blocks are cached, so their
 * {@code tokens = blocks * blockSize} positions need no computation. {@code tiers[i]} says where block i was found
 * ({@code tiers} is null when every block is in device memory); blocks in a lower tier are copied up before the
 * sequence computes. Valid only until the cache changes: pass it to
 * {@link KvCacheManager#allocateSlots(BlockTable, PrefixHit, int)} in the same scheduling pass.
 */
public record PrefixHit(int blocks, int tokens, KvTier[] tiers) {

    public static final PrefixHit NONE = new PrefixHit(0, 0);

    /** A hit whose blocks are all in device memory. */
    public PrefixHit(int blocks, int tokens) {
        this(blocks, tokens, null);
    }

    public KvTier tier(int block) {
        return tiers == null ? KvTier.DEVICE : tiers[block];
    }

    /** Blocks of the hit that must be copied up from host memory or disk. */
    public int lowerTierBlocks() {
        if (tiers == null) return 0;
        int n = 0;
        for (KvTier t : tiers) if (t != KvTier.DEVICE) n++;
        return n;
    }
}
