package ai.armature.serving.kv;

/**
 * How many KV blocks a worker gets. With an explicit budget ({@code --kv-cache-memory}): that many bytes divided
 * by the bytes of one block. Otherwise the runner's suggestion if it has one (a simulated GPU knows its HBM), else
 * {@link #DEFAULT_FREE_MEMORY_FRACTION} of the machine's free physical memory at start: the KV pool is off-heap,
 * so it competes with the JVM heap, the page cache of mmapped weights and other processes, and taking less than
 * half leaves room for them.
 */
public final class KvCacheSizing {

    /** Share of free physical memory the KV pool takes when no size is given. */
    public static final double DEFAULT_FREE_MEMORY_FRACTION = 0.4;

    private KvCacheSizing() {
    }

    /** The number of blocks {@code budgetBytes} holds; a clear error if it is not even one block. */
    public static int blocksFor(long budgetBytes, long kvBytesPerToken, int blockSize) {
        if (kvBytesPerToken <= 0) throw new IllegalArgumentException("KV bytes per token must be > 0, got " + kvBytesPerToken);
        long blockBytes = kvBytesPerToken * blockSize;
        long blocks = budgetBytes / blockBytes;
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV cache of " + budgetBytes + " bytes holds no block of " + blockSize
                    + " tokens (" + blockBytes + " bytes each): give --kv-cache-memory at least " + blockBytes + " bytes");
        }
        return (int) Math.min(blocks, Integer.MAX_VALUE / Math.max(1, blockSize));
    }

    /** The default budget: a fraction of the free physical memory reported by the OS. */
    public static long defaultBudgetBytes() {
        long free;
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            free = os.getFreeMemorySize();
        } else {
            free = Runtime.getRuntime().maxMemory();
        }
        return (long) (free * DEFAULT_FREE_MEMORY_FRACTION);
    }
}
