package ai.armature.serving.disagg;

/**
 * What a prefill worker offers decode workers: the prompt blocks it holds after its prefills (requests with
 * {@link ai.armature.protocol.kv.KvTransfer.Hold}), one reader per hold. A transport serves these to the
 * decode workers that ask ({@link ai.armature.serving.ServingEngine} implements it). Thread-safe.
 */
public interface KvHoldSource {

    /**
     * Claims the blocks held under {@code transferId} for reading; null if there is no such hold (never made,
     * expired, already claimed) or the worker is shut down. The caller must close what it got.
     */
    HeldBlocks claim(String transferId) throws InterruptedException;

    /** Drops the hold without reading it (no-op if there is none). */
    void release(String transferId);

    /** Held blocks being read: close releases the hold. Reads may run on any thread, one reader at a time. */
    interface HeldBlocks extends AutoCloseable {

        /** How many of the prompt's leading full blocks are held. */
        int count();

        /** The byte layout of the blocks (model, dtype, block size, shape). */
        ai.armature.serving.runner.KvLayout layout();

        /** The K/V of held blocks {@code [from, from + count)}. */
        ai.armature.serving.runner.KvBlocks read(int from, int count);

        @Override
        void close();
    }
}
