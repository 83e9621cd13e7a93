package ai.armature.serving;

import ai.armature.engine.model.KvDtype;
import ai.armature.serving.kv.KvTierConfig;

/**
 * A worker's scheduling and KV-cache settings. {@code blockSize}: tokens per KV block (16). {@code maxBatchedTokens}:
 * the token budget of one step ({@code --max-batched-tokens}, 512). {@code maxSeqs}: the most sequences running at
 * once ({@code --max-seqs}). {@code kvCacheMemoryBytes}: the KV pool size ({@code --kv-cache-memory}), or null for
 * the default rule of {@link ai.armature.serving.kv.KvCacheSizing}. {@code maxQueued}: the most requests waiting to
 * start before new ones are refused with QUEUE_FULL. {@code kvDtype}: the element type the runner stores K/V in
 * (the runner is built with it; the engine only uses the runner's bytes per token). {@code sharedBy}: how many
 * workers of one process share the machine's memory (the default KV budget is divided among them; 1 for a worker
 * alone). The budget rule itself is {@link ai.armature.serving.kv.KvCacheSizing#budgetBytes}. {@code kvTiers}: the
 * host-memory and disk tiers below the KV pool ({@code --kv-host-memory}, {@code --kv-disk-dir},
 * {@code --kv-disk-size}), {@link KvTierConfig#NONE} for none.
 */
public record ServingConfig(
        int blockSize,
        int maxBatchedTokens,
        int maxSeqs,
        Long kvCacheMemoryBytes,
        int maxQueued,
        KvDtype kvDtype,
        int sharedBy,
        KvTierConfig kvTiers) {

    public static final int DEFAULT_BLOCK_SIZE = 16;
    public static final int DEFAULT_MAX_BATCHED_TOKENS = 512;
    public static final int DEFAULT_MAX_SEQS = 128;
    public static final int DEFAULT_MAX_QUEUED = 4096;

    public ServingConfig {
        if (blockSize < 1) throw new IllegalArgumentException("--block-size must be >= 1, got " + blockSize);
        if (maxBatchedTokens < 1) throw new IllegalArgumentException("--max-batched-tokens must be >= 1, got " + maxBatchedTokens);
        if (maxSeqs < 1) throw new IllegalArgumentException("--max-seqs must be >= 1, got " + maxSeqs);
        if (kvCacheMemoryBytes != null && kvCacheMemoryBytes <= 0)
            throw new IllegalArgumentException("--kv-cache-memory must be > 0 bytes, got " + kvCacheMemoryBytes);
        if (maxQueued < 0) throw new IllegalArgumentException("--max-queued must be >= 0, got " + maxQueued);
        if (sharedBy < 1) throw new IllegalArgumentException("a worker is shared by at least 1, got " + sharedBy);
        if (kvDtype == null) kvDtype = KvDtype.F16;
        if (kvTiers == null) kvTiers = KvTierConfig.NONE;
    }

    public ServingConfig(int blockSize, int maxBatchedTokens, int maxSeqs, Long kvCacheMemoryBytes, int maxQueued, KvDtype kvDtype,
                         int sharedBy) {
        this(blockSize, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, maxQueued, kvDtype, sharedBy, KvTierConfig.NONE);
    }

    public ServingConfig(int blockSize, int maxBatchedTokens, int maxSeqs, Long kvCacheMemoryBytes, int maxQueued, KvDtype kvDtype) {
        this(blockSize, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, maxQueued, kvDtype, 1, KvTierConfig.NONE);
    }

    public static ServingConfig defaults() {
        return new ServingConfig(DEFAULT_BLOCK_SIZE, DEFAULT_MAX_BATCHED_TOKENS, DEFAULT_MAX_SEQS, null, DEFAULT_MAX_QUEUED, KvDtype.F16, 1, KvTierConfig.NONE);
    }

    public ServingConfig withBlockSize(int v) {
        return new ServingConfig(v, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, maxQueued, kvDtype, sharedBy, kvTiers);
    }

    public ServingConfig withMaxBatchedTokens(int v) {
        return new ServingConfig(blockSize, v, maxSeqs, kvCacheMemoryBytes, maxQueued, kvDtype, sharedBy, kvTiers);
    }

    public ServingConfig withMaxSeqs(int v) {
        return new ServingConfig(blockSize, maxBatchedTokens, v, kvCacheMemoryBytes, maxQueued, kvDtype, sharedBy, kvTiers);
    }

    public ServingConfig withKvCacheMemoryBytes(Long v) {
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, v, maxQueued, kvDtype, sharedBy, kvTiers);
    }

    public ServingConfig withMaxQueued(int v) {
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, v, kvDtype, sharedBy, kvTiers);
    }

    public ServingConfig withKvDtype(KvDtype v) {
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, maxQueued, v, sharedBy, kvTiers);
    }

    public ServingConfig withSharedBy(int v) {
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, maxQueued, kvDtype, v, kvTiers);
    }

    public ServingConfig withKvTiers(KvTierConfig v) {
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, kvCacheMemoryBytes, maxQueued, kvDtype, sharedBy, v);
    }
}
