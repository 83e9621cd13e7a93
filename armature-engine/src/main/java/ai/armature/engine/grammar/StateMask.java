package ai.armature.engine.grammar;

/**
 * What one grammar state allows, precomputed over the vocabulary (xgrammar's adaptive token mask): tokens that are
 * valid from this state whatever the stack below holds ("accepted"), tokens that may be valid depending on it
 * ("uncertain": they leave the state's rule, so the matcher checks them against its real stack), and the rest
 * (rejected). The accepted set is stored in whichever form is smallest: the accepted ids, the rejected ids
 * (everything else that is neither uncertain nor special being accepted), or a bitset. Immutable.
 */
final class StateMask {

    private static final int[] NONE = new int[0];

    private final int[] acceptedIds;
    private final int[] rejectedIds;
    private final long[] acceptedBits;
    final int[] uncertain;
    final int acceptedCount;

    private StateMask(int[] acceptedIds, int[] rejectedIds, long[] acceptedBits, int[] uncertain, int acceptedCount) {
        this.acceptedIds = acceptedIds;
        this.rejectedIds = rejectedIds;
        this.acceptedBits = acceptedBits;
        this.uncertain = uncertain;
        this.acceptedCount = acceptedCount;
    }

    static StateMask of(int[] accepted, int acceptedCount, int[] rejected, int rejectedCount, int[] uncertain, int uncertainCount,
                        int vocabSize) {
        int[] unc = uncertainCount == 0 ? NONE : java.util.Arrays.copyOf(uncertain, uncertainCount);
        int bitsetInts = ((vocabSize + 63) >>> 6) * 2;
        if (acceptedCount <= rejectedCount && acceptedCount <= bitsetInts) {
            return new StateMask(java.util.Arrays.copyOf(accepted, acceptedCount), null, null, unc, acceptedCount);
        }
        if (rejected != null && rejectedCount + unc.length < bitsetInts) {
            return new StateMask(null, java.util.Arrays.copyOf(rejected, rejectedCount), null, unc, acceptedCount);
        }
        long[] bits = new long[(vocabSize + 63) >>> 6];
        for (int i = 0; i < acceptedCount; i++) bits[accepted[i] >>> 6] |= 1L << accepted[i];
        return new StateMask(null, null, bits, unc, acceptedCount);
    }

    /** ORs the accepted tokens into {@code mask}. */
    void orAccepted(long[] mask, TokenVocabulary vocab) {
        if (acceptedIds != null) {
            for (int id : acceptedIds) mask[id >>> 6] |= 1L << id;
        } else if (acceptedBits != null) {
            for (int i = 0; i < mask.length; i++) mask[i] |= acceptedBits[i];
        } else {
            // Everything normal except the rejected and uncertain ones: build it in a scratch-free way by
            // ORing in the complement per word is not possible without a temporary, so clear from a copy.
            long[] all = vocab.normal;
            long[] tmp = scratch(mask.length);
            System.arraycopy(all, 0, tmp, 0, mask.length);
            for (int id : rejectedIds) tmp[id >>> 6] &= ~(1L << id);
            for (int id : uncertain) tmp[id >>> 6] &= ~(1L << id);
            for (int i = 0; i < mask.length; i++) mask[i] |= tmp[i];
        }
    }

    private static final ThreadLocal<long[]> SCRATCH = ThreadLocal.withInitial(() -> new long[0]);

    private static long[] scratch(int n) {
        long[] s = SCRATCH.get();
        if (s.length < n) {
            s = new long[n];
            SCRATCH.set(s);
        }
        return s;
    }

    /** Heap bytes this mask takes (for the cache's accounting). */
    long bytes() {
        long b = 64 + uncertain.length * 4L;
        if (acceptedIds != null) b += acceptedIds.length * 4L;
        if (rejectedIds != null) b += rejectedIds.length * 4L;
        if (acceptedBits != null) b += acceptedBits.length * 8L;
        return b;
    }
}
