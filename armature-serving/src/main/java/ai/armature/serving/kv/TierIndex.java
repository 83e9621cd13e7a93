package ai.armature.serving.kv;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * The LRU index of a lower KV tier: which block hashes it holds, least recently used first. Entries are values
 * ({@link HostTier.Entry}, {@link DiskTier.Entry}); removing one checks identity, so a late report about an entry
 * that was replaced meanwhile changes nothing. Engine thread only.
 */
final class TierIndex<E> {

    private final LinkedHashMap<Long, E> map = new LinkedHashMap<>(16, 0.75f, true);
    private final ToLongFunction<E> hashOf;

    TierIndex(ToLongFunction<E> hashOf) {
        this.hashOf = hashOf;
    }

    int size() {
        return map.size();
    }

    boolean contains(long hash) {
        return map.containsKey(hash);
    }

    /** The entry for {@code hash}, made most recently used; or null. */
    E touch(long hash) {
        return map.get(hash);
    }

    /** The least recently used entry, or null when empty. */
    E eldest() {
        Iterator<E> it = map.values().iterator();
        return it.hasNext() ? it.next() : null;
    }

    void put(E e) {
        map.put(hashOf.applyAsLong(e), e);
    }

    /** Drops {@code e} if it is still the entry of its hash; returns whether it was. */
    boolean remove(E e) {
        long h = hashOf.applyAsLong(e);
        if (map.get(h) != e) return false;
        map.remove(h);
        return true;
    }

    /** The entries, least recently used first. */
    List<E> entries() {
        return List.copyOf(map.values());
    }

    Set<Long> hashes() {
        return Set.copyOf(map.keySet());
    }

    void clear() {
        map.clear();
    }
}
