package ai.armature.protocol.kv;

import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What a worker holds in each KV tier at one instant, and the id of the last {@link KvEvent} it published before
 * that instant: a consumer that saw a gap in the event stream replaces its view of the worker with this snapshot
 * and applies the events with larger ids. Blocks named by their {@link BlockHasher} hash; tiers without blocks
 * map to empty sets.
 *
 * <p>{@code complete} is false when the worker itself does not know all it holds: an upstream engine whose own event
 * stream had a gap (engines have no snapshot call), so the hashes are only what it learned since. A consumer then
 * treats the worker's cache as unknown beyond them (a router routes it approximately) until the worker publishes an
 * {@link KvEvent.AllBlocksCleared}.
 */
public record KvCacheSnapshot(long lastEventId, Map<KvTier, Set<Long>> hashesByTier, boolean complete) {

    /** A complete snapshot: the worker's whole cache. */
    public KvCacheSnapshot(long lastEventId, Map<KvTier, Set<Long>> hashesByTier) {
        this(lastEventId, hashesByTier, true);
    }

    public KvCacheSnapshot {
        EnumMap<KvTier, Set<Long>> copy = new EnumMap<>(KvTier.class);
        for (KvTier t : KvTier.values()) copy.put(t, Set.copyOf(hashesByTier.getOrDefault(t, Set.of())));
        hashesByTier = java.util.Collections.unmodifiableMap(copy);
    }

    /** The hashes held in {@code tier}. */
    public Set<Long> hashes(KvTier tier) {
        return hashesByTier.get(tier);
    }

    /** The hashes held in any tier. */
    public Set<Long> allHashes() {
        Set<Long> all = new HashSet<>();
        for (Set<Long> s : hashesByTier.values()) all.addAll(s);
        return all;
    }
}
