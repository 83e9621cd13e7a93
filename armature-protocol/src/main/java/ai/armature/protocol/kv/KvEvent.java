package ai.armature.protocol.kv;

import java.util.Objects;

/**
 * A change to a worker's set of cached KV blocks, as published to routers. Event ids are per worker, start at 1
 * and increase by exactly one per event, so a consumer can detect a gap (and then resynchronise).
 *
 * <p>Events are per tier ({@link KvTier}): a block may be held in several tiers at once (say in device memory
 * and, as a copy, in host memory), and each tier's copy is stored and removed by its own events. Replaying a
 * worker's events in id order into an empty set of (hash, tier) pairs reproduces what the worker holds in each
 * tier. A consumer that only cares whether a worker holds a block holds it while any tier does; one that weighs
 * hits by tier takes the best tier holding it. A worker without lower tiers publishes {@link KvTier#DEVICE} only.
 */
public sealed interface KvEvent {

    /** Per-worker sequence number of this event, starting at 1, without gaps. */
    long eventId();

    /**
     * A full block became cached under {@code blockHash} (see {@link BlockHasher}) in {@code tier};
     * {@code parentHash} is the previous block's hash, or the chain's root hash ({@link BlockHasher#rootHash}) for
     * a sequence's first block. {@code tokens} are the block's token ids ({@code tokenCount} of them), for routers
     * that index by tokens.
     */
    record BlockStored(long eventId, long blockHash, long parentHash, int tokenCount, int[] tokens, KvTier tier) implements KvEvent {
        public BlockStored {
            if (tokens.length != tokenCount) throw new IllegalArgumentException("tokens.length != tokenCount");
            Objects.requireNonNull(tier, "tier");
        }

        /** A block stored in device memory (G1). */
        public BlockStored(long eventId, long blockHash, long parentHash, int tokenCount, int[] tokens) {
            this(eventId, blockHash, parentHash, tokenCount, tokens, KvTier.DEVICE);
        }
    }

    /** The copy of the block cached under {@code blockHash} in {@code tier} was evicted or dropped. */
    record BlockRemoved(long eventId, long blockHash, KvTier tier) implements KvEvent {
        public BlockRemoved {
            Objects.requireNonNull(tier, "tier");
        }

        /** A block removed from device memory (G1). */
        public BlockRemoved(long eventId, long blockHash) {
            this(eventId, blockHash, KvTier.DEVICE);
        }
    }

    /** Every cached block was dropped from every tier (a cache reset): consumers clear this worker's whole set. */
    record AllBlocksCleared(long eventId) implements KvEvent {
    }
}
