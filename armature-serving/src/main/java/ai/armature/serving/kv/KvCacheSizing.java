package ai.armature.serving.kv;

/**
 * How many KV blocks a worker gets: the one place of the budget rule ({@link #budgetBytes}). With an explicit
 * budget ({@code --kv-cache-memory}): that many bytes (refused if the workers sharing the machine would need more
 * than its physical memory). Otherwise the runner's suggestion if it has one (a simulated GPU knows its HBM),
 * else {@link #DEFAULT_FREE_MEMORY_FRACTION} of the machine's free physical memory at start, divided among the
 * workers of the process, but never more than {@code maxSeqs} sequences at full context can use (a small model
 * would otherwise pin gigabytes it never touches): the KV pool is off-heap, so it competes with the JVM heap, the
 * page cache of mmapped weights and other processes, and taking less than half leaves room for them. The number
 * of blocks is then the budget divided by the bytes of one block.
 */
public final class KvCacheSizing {

    /** Share of free physical memory the KV pool takes when no size is given. */
    public static final double DEFAULT_FREE_MEMORY_FRACTION = 0.4;

    private KvCacheSizing() {
    }

    /**
     * The KV budget in bytes of one worker (see the class comment).
     *
     * @param configured      the explicit per-worker budget, or null
     * @param runnerSuggested the runner's own budget, or &lt;= 0 for none
     * @param sharedBy        workers of this process sharing the machine's memory (&gt;= 1)
     */
    public static long budgetBytes(Long configured, long runnerSuggested, long kvBytesPerToken, int maxSeqs, int maxContext,
                                   int sharedBy) {
        if (configured != null) {
            long physical = physicalMemoryBytes();
            if (configured > physical / sharedBy) {
                throw new IllegalArgumentException("--kv-cache-memory asks for " + configured * sharedBy
                        + " bytes, more than this machine's " + physical + " bytes of memory");
            }
            return configured;
        }
        if (runnerSuggested > 0) return runnerSuggested;
        long useful = (long) maxSeqs * maxContext * kvBytesPerToken;
        return Math.max(1, Math.min(defaultBudgetBytes() / sharedBy, useful));
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

    /** The machine's physical memory as the OS reports it. */
    public static long physicalMemoryBytes() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Long.MAX_VALUE;
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
