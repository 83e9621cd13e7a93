package ai.armature.serving.kv;

import java.util.Objects;

import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.protocol.kv.KvTier;

/**
 * Numbers a worker's KV events 1, 2, 3, ... across all its tiers and hands them to the publisher, so consumers see
 * one gap-free stream per worker. Engine thread only.
 */
public final class KvEventSequencer {

    private final KvEventPublisher publisher;
    private long lastEventId;

    public KvEventSequencer(KvEventPublisher publisher) {
        this.publisher = Objects.requireNonNull(publisher, "publisher");
    }

    /** The id of the last event published (0 before the first). */
    public long lastEventId() {
        return lastEventId;
    }

    /** Publishes that the block {@code blockHash} (tokens copied from {@code tokens[from, from + count)}) is now held in {@code tier}. */
    public void stored(long blockHash, long parentHash, int[] tokens, int from, int count, KvTier tier) {
        int[] blockTokens = java.util.Arrays.copyOfRange(tokens, from, from + count);
        publisher.publish(new KvEvent.BlockStored(++lastEventId, blockHash, parentHash, count, blockTokens, tier));
    }

    public void removed(long blockHash, KvTier tier) {
        publisher.publish(new KvEvent.BlockRemoved(++lastEventId, blockHash, tier));
    }

    public void cleared() {
        publisher.publish(new KvEvent.AllBlocksCleared(++lastEventId));
    }
}
