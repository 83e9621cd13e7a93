package ai.armature.protocol.kv;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Counters of one KV tier of one worker: blocks held and the most it can hold, the bytes they take, prefix-lookup
 * hits (blocks found in this tier and not above it), blocks and bytes copied into the tier from above
 * ({@code down}) and out of it up to the device ({@code up}) with the seconds those copies took, and blocks dropped
 * because a copy failed or a file was corrupt, truncated or of another layout. Reported by
 * {@link ai.armature.protocol.GenerationEngine#kvTierStats()} for each configured tier below the device pool.
 */
public record KvTierStats(
        KvTier tier,
        long blocks,
        long capacityBlocks,
        long bytes,
        long hitBlocks,
        long downBlocks,
        long downBytes,
        double downSeconds,
        long upBlocks,
        long upBytes,
        double upSeconds,
        long droppedBlocks) {

    /** The sum of two workers' counters of the same tier. */
    public KvTierStats plus(KvTierStats o) {
        if (o.tier != tier) throw new IllegalArgumentException("cannot add " + o.tier + " to " + tier);
        return new KvTierStats(tier, blocks + o.blocks, capacityBlocks + o.capacityBlocks, bytes + o.bytes, hitBlocks + o.hitBlocks,
                downBlocks + o.downBlocks, downBytes + o.downBytes, downSeconds + o.downSeconds, upBlocks + o.upBlocks,
                upBytes + o.upBytes, upSeconds + o.upSeconds, droppedBlocks + o.droppedBlocks);
    }

    /** Per-tier sums over several workers' lists, in tier order. */
    public static List<KvTierStats> sum(Iterable<List<KvTierStats>> parts) {
        Map<KvTier, KvTierStats> byTier = new EnumMap<>(KvTier.class);
        for (List<KvTierStats> list : parts) {
            for (KvTierStats s : list) byTier.merge(s.tier(), s, KvTierStats::plus);
        }
        return new ArrayList<>(byTier.values());
    }
}
