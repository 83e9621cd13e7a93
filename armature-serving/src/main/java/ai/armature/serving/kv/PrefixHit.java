package ai.armature.serving.kv;

/**
 * The result of a prefix-cache lookup for one sequence: its first {@code blocks} full blocks are cached, so their
 * {@code tokens = blocks * blockSize} positions need no computation. Valid only until the cache changes: pass it
 * to {@link KvCacheManager#allocateSlots(BlockTable, PrefixHit, int)} in the same scheduling pass.
 */
public record PrefixHit(int blocks, int tokens) {

    public static final PrefixHit NONE = new PrefixHit(0, 0);
}
