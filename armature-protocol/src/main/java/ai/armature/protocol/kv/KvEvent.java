package ai.armature.protocol.kv;

/**
 * A change to a worker's set of cached KV blocks, as published to routers. Event ids are per worker, start at 1
 * and increase by exactly one per event, so a consumer can detect a gap (and then resynchronise). Replaying a
 * worker's events in id order into an empty set of hashes reproduces the worker's cached set.
 */
public sealed interface KvEvent {

    /** Per-worker sequence number of this event, starting at 1, without gaps. */
    long eventId();

    /**
     * A full block became cached under {@code blockHash} (see {@link BlockHasher}); {@code parentHash} is the previous
     * block's hash, or the chain's root hash ({@link BlockHasher#rootHash}) for a sequence's first block.
     * {@code tokens} are the block's token ids ({@code tokenCount} of them), for routers that index by tokens.
     */
    record BlockStored(long eventId, long blockHash, long parentHash, int tokenCount, int[] tokens) implements KvEvent {
        public BlockStored {
            if (tokens.length != tokenCount) throw new IllegalArgumentException("tokens.length != tokenCount");
        }
    }

    /** The block cached under {@code blockHash} was evicted: it is no longer available for reuse. */
    record BlockRemoved(long eventId, long blockHash) implements KvEvent {
    }

    /** Every cached block was dropped (a cache reset): consumers clear this worker's whole set. */
    record AllBlocksCleared(long eventId) implements KvEvent {
    }
}
