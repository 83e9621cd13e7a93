package ai.armature.serving.kv;

import java.nio.file.Path;

/**
 * The lower KV tiers of one worker, below its device pool (G1): host memory (G2, {@code hostBytes} of off-heap
 * memory, 0 for none) and disk (G3, files in {@code diskDir} up to {@code diskBytes}; {@code diskDir} null for
 * none). {@link #NONE} is a worker without lower tiers.
 */
public record KvTierConfig(long hostBytes, Path diskDir, long diskBytes) {

    public static final KvTierConfig NONE = new KvTierConfig(0, null, 0);

    public KvTierConfig {
        if (hostBytes < 0) throw new IllegalArgumentException("--kv-host-memory must be >= 0 bytes, got " + hostBytes);
        if (diskDir == null && diskBytes != 0) throw new IllegalArgumentException("--kv-disk-size needs --kv-disk-dir");
        if (diskDir != null && diskBytes <= 0) throw new IllegalArgumentException("--kv-disk-dir needs --kv-disk-size (how much of the disk the tier may use)");
    }

    public boolean hasHost() {
        return hostBytes > 0;
    }

    public boolean hasDisk() {
        return diskDir != null;
    }

    public boolean any() {
        return hasHost() || hasDisk();
    }

    /**
     * Worker {@code index}'s share when {@code count} workers of one process are configured together: the sizes
     * divided among them, and a disk directory of its own ({@code diskDir/worker-<index>}), so no two workers ever
     * write the same files.
     */
    public KvTierConfig forWorker(int index, int count) {
        if (!any()) return this;
        return new KvTierConfig(hostBytes / count, diskDir == null ? null : diskDir.resolve("worker-" + index), diskBytes / count);
    }
}
