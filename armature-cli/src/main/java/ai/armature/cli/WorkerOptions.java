package ai.armature.cli;

import ai.armature.engine.model.KvDtype;
import ai.armature.serving.ByteSize;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.kv.KvTierConfig;
import picocli.CommandLine.Option;

/** The serving worker's options, shared by the commands that run workers ({@code serve}, {@code bench serving}). */
final class WorkerOptions {

    @Option(names = "--max-batched-tokens", defaultValue = "512",
            description = "Token budget of one scheduler step (decodes first, then prompt chunks). Default: ${DEFAULT-VALUE}.")
    int maxBatchedTokens;

    @Option(names = "--max-seqs", defaultValue = "128", description = "Most sequences running at once per worker. Default: ${DEFAULT-VALUE}.")
    int maxSeqs;

    @Option(names = "--kv-cache-memory",
            description = {"KV cache size over all workers, e.g. 2GiB or 512MiB. Default: 40%% of free memory, but no more",
                    "than --max-seqs sequences at full context need (with --mock-profile: the profile's memory)."})
    String kvCacheMemory;

    @Option(names = "--kv-type", defaultValue = "f16", description = "KV cache element type: f16, bf16 or f32. Default: ${DEFAULT-VALUE}.")
    String kvType;

    @Option(names = "--block-size", defaultValue = "16", description = "Tokens per KV block. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Option(names = "--kv-host-memory",
            description = {"Host-memory KV tier (G2) over all workers, e.g. 8GiB, off-heap: cached blocks are copied here,",
                    "and a prompt whose prefix left the KV cache copies it back instead of recomputing it. Default: none."})
    String kvHostMemory;

    @Option(names = "--kv-disk-dir",
            description = {"Disk KV tier (G3): block files (checksummed) under DIR/worker-N, one directory per worker,",
                    "kept across restarts; needs --kv-disk-size. Default: none."})
    java.nio.file.Path kvDiskDir;

    @Option(names = "--kv-disk-size", description = "Disk the KV tier may use over all workers, e.g. 50GiB.")
    String kvDiskSize;

    /** The most tokens one step may hold: activations grow with it (about 200 KB per token for an 8B model). */
    static final int MAX_BATCHED_TOKENS_LIMIT = 16384;

    /** The per-worker config when {@code workers} replicas share the KV budget. */
    ServingConfig config(int workers, int maxQueued) {
        if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1");
        if (maxBatchedTokens > MAX_BATCHED_TOKENS_LIMIT) {
            throw new IllegalArgumentException("--max-batched-tokens must be at most " + MAX_BATCHED_TOKENS_LIMIT + ", got " + maxBatchedTokens);
        }
        Long total = kvCacheMemory == null ? null : ByteSize.parse(kvCacheMemory);
        Long perWorker = total == null ? null : total / workers;
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, perWorker, maxQueued, KvDtype.parse(kvType))
                .withKvTiers(kvTiers());
    }

    /** The lower KV tiers over all workers (each worker gets its share and its own directory, see KvTierConfig). */
    KvTierConfig kvTiers() {
        long host = kvHostMemory == null ? 0 : ByteSize.parse(kvHostMemory);
        if (kvHostMemory != null && host <= 0) throw new IllegalArgumentException("--kv-host-memory must be > 0 bytes, got " + kvHostMemory);
        long disk = kvDiskSize == null ? 0 : ByteSize.parse(kvDiskSize);
        if (kvDiskSize != null && disk <= 0) throw new IllegalArgumentException("--kv-disk-size must be > 0 bytes, got " + kvDiskSize);
        return new KvTierConfig(host, kvDiskDir, disk);
    }
}
