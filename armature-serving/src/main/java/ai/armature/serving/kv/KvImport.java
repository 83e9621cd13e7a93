package ai.armature.serving.kv;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.serving.runner.KvBlocks;
import ai.armature.serving.runner.KvLayout;
import ai.armature.serving.runner.ModelRunner;

/**
 * Device blocks reserved for a prompt's K/V arriving from another worker (the decode side of a KV transfer): the
 * prompt's leading full blocks this worker caches already (held, so they stay), then fresh blocks for the ones
 * to receive, filled in order by {@link #write} and registered in the prefix cache by
 * {@link KvCacheManager#commitImport}, which hands the whole run to the request as its prefix. Reserved and
 * committed on the engine thread; {@link #write} may run on another thread (the transfer's), one call at a time:
 * no step touches blocks that no sequence holds, and the engine thread sees the writes after the commit command.
 */
public final class KvImport {

    final BlockHasher.Chain chain;
    final int[] tokens;
    final int[] ids;
    final int cached;
    private final KvLayout layout;
    private final ModelRunner runner;
    private int written;
    boolean done;

    KvImport(BlockHasher.Chain chain, int[] tokens, int[] ids, int cached, KvLayout layout, ModelRunner runner) {
        this.chain = chain;
        this.tokens = tokens;
        this.ids = ids;
        this.cached = cached;
        this.layout = layout;
        this.runner = runner;
    }

    /** The prompt's leading full blocks this worker already caches: the transfer starts after them. */
    public int fromBlock() {
        return cached;
    }

    /** Blocks reserved to receive (the rest of the prompt's full blocks, or fewer if the pool was short). */
    public int capacity() {
        return ids.length - cached;
    }

    /** Blocks received so far. */
    public int written() {
        return written;
    }

    /** The layout incoming blocks must have (this worker's). */
    public KvLayout layout() {
        return layout;
    }

    /**
     * Writes the next {@code chunk.count()} blocks received. Refuses, before writing anything, a chunk of another
     * layout or one that would overflow the reservation (IllegalArgumentException).
     */
    public void write(KvBlocks chunk) {
        if (done) throw new IllegalStateException("the import was already committed or aborted");
        layout.requireSame(chunk.layout(), "the received KV blocks");
        if (chunk.count() > capacity() - written) {
            throw new IllegalArgumentException("received " + chunk.count() + " KV blocks, but only " + (capacity() - written)
                    + " of the " + capacity() + " reserved are left");
        }
        long bytes = layout.blockBytes();
        for (int i = 0; i < chunk.count(); i++) runner.importBlock(chunk.data(), i * bytes, ids[cached + written + i]);
        written += chunk.count();
    }

    /**
     * Writes the next {@code count} blocks by copying blocks {@code sourceIds[from, from + count)} of {@code source}, a
     * runner of the same layout in this process (the simulator's transfers; no payload is built). Refuses, before
     * writing anything, another layout or an overflow (IllegalArgumentException).
     */
    public void copyFrom(ModelRunner source, int[] sourceIds, int from, int count) {
        if (done) throw new IllegalStateException("the import was already committed or aborted");
        layout.requireSame(source.kvLayout().orElseThrow(() -> new IllegalArgumentException(source.modelName() + " cannot export KV blocks")),
                "the copied KV blocks");
        if (count > capacity() - written) {
            throw new IllegalArgumentException("copying " + count + " KV blocks, but only " + (capacity() - written) + " of the "
                    + capacity() + " reserved are left");
        }
        java.util.Objects.checkFromIndexSize(from, count, sourceIds.length);
        for (int i = 0; i < count; i++) runner.copyBlockFrom(source, sourceIds[from + i], ids[cached + written + i]);
        written += count;
    }
}
