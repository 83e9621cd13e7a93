package ai.armature.cli;

/**
 * The {@code --threads} check of the bench commands: a kernel pool needs at least one thread, and more threads than
 * cores only makes the pool's spinning workers take turns on the same cores, so such a count is refused rather
 * than measured.
 */
final class KernelThreads {

    private KernelThreads() {
    }

    /** Throws a one-line error unless {@code threads} is between 1 and this machine's available cores. */
    static void check(int threads) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (threads < 1 || threads > cores) {
            throw new IllegalArgumentException("--threads must be between 1 and this machine's " + cores + " cores, got " + threads);
        }
    }
}
