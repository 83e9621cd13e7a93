package ai.armature.sim;

/**
 * Deterministic prompt tokens for simulated workloads: token {@code j} of content id {@code id} is a hash of
 * (seed, id, j) in {@code [0, vocab)}. Equal ids give equal token runs, so prompts built from equal ids share their
 * prefix exactly, and hence their KV block hashes, at any block size.
 */
final class TokenSynth {

    private final long seed;
    private final int vocab;

    TokenSynth(long seed, int vocab) {
        if (vocab < 2) throw new IllegalArgumentException("vocabulary too small: " + vocab);
        this.seed = seed;
        this.vocab = vocab;
    }

    int token(long id, int j) {
        long h = mix(seed ^ mix(id * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L) ^ (j * 0xC2B2AE3D27D4EB4FL));
        return (int) Long.remainderUnsigned(h, vocab);
    }

    /** Writes {@code count} tokens of content {@code id}, starting at its token {@code from}, into {@code out[at...]}. */
    void fill(long id, int from, int count, int[] out, int at) {
        for (int k = 0; k < count; k++) out[at + k] = token(id, from + k);
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
