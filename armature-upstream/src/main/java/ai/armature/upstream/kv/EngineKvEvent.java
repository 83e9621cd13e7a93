package ai.armature.upstream.kv;

/**
 * One KV cache event as an engine published it, decoded from its wire format ({@link KvEventDecoder}). Engine block
 * hashes are opaque 64-bit values (an engine's byte-string hashes are folded to 64 bits). {@code parentHash} is the
 * engine hash of the block before the first one, or null at the start of a sequence. A stored event is
 * {@code indexable} only for the base model's plain token blocks: blocks of a LoRA adapter, with multimodal or other
 * extra hash keys, of another KV cache group, or of bigram pages are reported and skipped (and so are their
 * descendants, whose parents are then unknown). {@code medium} is the engine's name for where the blocks are
 * ({@code GPU}, {@code CPU}, ...; null: GPU); {@code cacheSalt} the salt SGLang names in its metadata, or null.
 */
public sealed interface EngineKvEvent {

    record Stored(long[] blockHashes, Long parentHash, int[] tokenIds, int blockSize, String medium, String cacheSalt,
                  boolean indexable) implements EngineKvEvent {
    }

    record Removed(long[] blockHashes, String medium) implements EngineKvEvent {
    }

    record Cleared() implements EngineKvEvent {
    }
}
