package ai.armature.serving;

import java.util.random.RandomGenerator;

/**
 * The random numbers of one sequence, drawn afresh for each sampled position from (seed, position) alone: before a
 * token at position p is sampled the engine calls {@link #seek(long) seek(p)}, and the draws that follow are
 * SplitMix64 outputs of a state derived from both. So a seeded request gives the same tokens alone or in any batch,
 * after a preemption, and after a migration to another worker that resumes it at position p with the same seed (no
 * generator state needs to travel). Allocation-free; engine thread only.
 */
final class PositionalRandom implements RandomGenerator {

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final long seed;
    private long state;

    PositionalRandom(long seed) {
        this.seed = seed;
        seek(0);
    }

    /** Makes the next draws those of position {@code position}. */
    void seek(long position) {
        state = mix(seed ^ mix(position * GOLDEN + GOLDEN));
    }

    @Override
    public long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
