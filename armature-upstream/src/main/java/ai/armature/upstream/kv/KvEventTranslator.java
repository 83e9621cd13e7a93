package ai.armature.upstream.kv;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Turns one engine's KV events into Armature's: engine block hashes are opaque, so Armature's chained hashes
 * ({@link BlockHasher}, salted with the served model's name) are computed from the events' token ids, in the block
 * size the router indexes this worker in, and a map engine hash -> chain state (its Armature blocks, its position)
 * lets a later block extend its parent's chain and a {@code BlockRemoved} name the Armature blocks it ends. Armature
 * block {@code i} (tokens {@code [i*B, (i+1)*B)}) is held while the engine block holding its last token is held,
 * which is exact when B equals the engine's block size (vLLM) and for engines that evict leaf first (SGLang's radix
 * cache) otherwise. Armature event ids are consecutive from 1; the translator also keeps the set of Armature blocks
 * it believes the engine holds, per tier, as the snapshot a router asks for after a gap in those ids.
 *
 * <p>Gaps in the engine's own sequence numbers cannot be repaired (engines have no snapshot call), so what the engine
 * holds becomes unknown. The translator then (1) keeps its engine-hash map: a block's Armature hash depends only on
 * its tokens, so entries stay right, and blocks stored after the gap whose parent it knew still chain (those whose
 * parent was stored during the gap cannot be, and are counted as unchainable); (2) skips one Armature event id, so
 * the router sees a gap and asks for a snapshot; (3) answers snapshots as incomplete ({@link KvCacheSnapshot#complete()}
 * false) with the blocks stored since the gap, until the engine clears its cache ({@code AllBlocksCleared}) or
 * restarts (its sequence numbers start again: the new process's cache starts empty, an {@code AllBlocksCleared} is
 * emitted). The first message seen with a sequence number above 0 is a gap too (the engine ran before Armature
 * subscribed). Thread-safe.
 */
public final class KvEventTranslator {

    private static final Logger LOG = Logger.getLogger(KvEventTranslator.class.getName());

    /** Chain state at the end of one engine block. */
    private static final class Node {
        final long lastFull;
        final int[] tail;
        final long[] owned;
        int tiers;

        Node(long lastFull, int[] tail, long[] owned) {
            this.lastFull = lastFull;
            this.tail = tail;
            this.owned = owned;
        }
    }

    private final String workerId;
    private final BlockHasher hasher;
    private final int blockSize;
    private final Map<Long, Node> nodes = new HashMap<>();
    private final Map<Long, Integer> held = new HashMap<>();
    private long lastSequence = -1;
    private long nextEventId = 1;
    private boolean uncertain;
    private long batches, gaps, restarts, skippedBlocks, unchainableBlocks, storedBlocks;

    public KvEventTranslator(String workerId, BlockHasher hasher, int blockSize) {
        if (blockSize < 1) throw new IllegalArgumentException("block size must be >= 1");
        this.workerId = workerId;
        this.hasher = hasher;
        this.blockSize = blockSize;
    }

    /** Applies one engine batch; returns the Armature events it produced, in id order (possibly none). */
    public synchronized List<KvEvent> accept(EngineKvBatch batch) {
        List<KvEvent> out = new ArrayList<>();
        long seq = batch.sequence();
        batches++;
        if (lastSequence < 0) {
            if (seq != 0) lost("the first KV event message seen has sequence " + seq + ": the engine published before Armature subscribed");
        } else if (seq <= lastSequence) {
            restarts++;
            LOG.info("upstream " + workerId + ": KV event sequence restarted (" + lastSequence + " -> " + seq + "): the engine restarted; its cache starts empty");
            clear(out);
            if (seq != 0) lost("the restarted engine's first message seen has sequence " + seq);
        } else if (seq != lastSequence + 1) {
            lost((seq - lastSequence - 1) + " KV event message(s) lost (sequence " + (lastSequence + 1) + " to " + (seq - 1) + ")");
        }
        lastSequence = seq;
        for (EngineKvEvent e : batch.events()) {
            switch (e) {
                case EngineKvEvent.Stored s -> stored(s, out);
                case EngineKvEvent.Removed r -> removed(r, out);
                case EngineKvEvent.Cleared c -> {
                    clear(out);
                    uncertain = false;
                }
            }
        }
        return out;
    }

    /** The engine's messages {@code from..to} were lost (they could not be read): as a gap. */
    public synchronized void lostMessage(long sequence, String why) {
        if (sequence > lastSequence) lastSequence = sequence;
        lost("KV event message " + sequence + " unreadable: " + why);
    }

    private void lost(String why) {
        gaps++;
        if (!uncertain) LOG.warning("upstream " + workerId + ": " + why + "; its cache is unknown until it clears it or restarts "
                + "(routing it approximately meanwhile)");
        uncertain = true;
        nextEventId++; // a gap in Armature's ids: the router asks for a snapshot, which says it is incomplete
    }

    private void stored(EngineKvEvent.Stored s, List<KvEvent> out) {
        int n = s.blockHashes().length;
        if (!s.indexable()) {
            skippedBlocks += n;
            return;
        }
        long lastFull;
        int[] tail;
        if (s.parentHash() == null) {
            lastFull = hasher.rootHash(s.cacheSalt());
            tail = new int[0];
        } else {
            Node parent = nodes.get(s.parentHash());
            if (parent == null) {
                unchainableBlocks += n;
                return;
            }
            lastFull = parent.lastFull;
            tail = parent.tail;
        }
        int[] tokens = s.tokenIds();
        int per = n == 1 ? tokens.length : s.blockSize();
        if (per < 1 || (long) per * n != tokens.length) {
            skippedBlocks += n;
            return;
        }
        KvTier tier = tierOf(s.medium());
        int bit = 1 << tier.ordinal();
        for (int j = 0; j < n; j++) {
            long h = s.blockHashes()[j];
            Node node = nodes.get(h);
            if (node == null) {
                int[] combined = new int[tail.length + per];
                System.arraycopy(tail, 0, combined, 0, tail.length);
                System.arraycopy(tokens, j * per, combined, tail.length, per);
                int full = combined.length / blockSize;
                long[] owned = new long[full];
                long parent = lastFull;
                for (int k = 0; k < full; k++) {
                    owned[k] = hasher.hashBlock(parent, combined, k * blockSize, blockSize);
                    parent = owned[k];
                }
                node = new Node(parent, java.util.Arrays.copyOfRange(combined, full * blockSize, combined.length), owned);
                nodes.put(h, node);
                storedBlocks++;
            }
            if ((node.tiers & bit) == 0) {
                node.tiers |= bit;
                long parent = lastFull; // the chain's last full block before this engine block
                for (int k = 0; k < node.owned.length; k++) {
                    long arm = node.owned[k];
                    long p = k == 0 ? parent : node.owned[k - 1];
                    int m = held.getOrDefault(arm, 0);
                    if ((m & bit) == 0) {
                        held.put(arm, m | bit);
                        int[] blockTokens = blockTokens(k, tail, tokens, j * per);
                        out.add(new KvEvent.BlockStored(nextEventId++, arm, p, blockSize, blockTokens, tier));
                    }
                }
            }
            lastFull = node.lastFull;
            tail = node.tail;
        }
    }

    /** The tokens of the {@code k}-th Armature block completed in an engine block. */
    private int[] blockTokens(int k, int[] tailBefore, int[] tokens, int from) {
        int[] out = new int[blockSize];
        int start = k * blockSize; // offset in (tailBefore ++ this block's tokens)
        for (int i = 0; i < blockSize; i++) {
            int at = start + i;
            out[i] = at < tailBefore.length ? tailBefore[at] : tokens[from + at - tailBefore.length];
        }
        return out;
    }

    private void removed(EngineKvEvent.Removed r, List<KvEvent> out) {
        KvTier tier = tierOf(r.medium());
        int bit = 1 << tier.ordinal();
        for (long h : r.blockHashes()) {
            Node node = nodes.get(h);
            if (node == null || (node.tiers & bit) == 0) continue;
            node.tiers &= ~bit;
            for (long arm : node.owned) {
                int m = held.getOrDefault(arm, 0);
                if ((m & bit) != 0) {
                    if ((m & ~bit) == 0) held.remove(arm);
                    else held.put(arm, m & ~bit);
                    out.add(new KvEvent.BlockRemoved(nextEventId++, arm, tier));
                }
            }
            if (node.tiers == 0) nodes.remove(h);
        }
    }

    private void clear(List<KvEvent> out) {
        nodes.clear();
        held.clear();
        out.add(new KvEvent.AllBlocksCleared(nextEventId++));
    }

    /** The engine's medium names: vLLM and SGLang say GPU, or CPU for host copies (offloading); anything on disk is DISK. */
    static KvTier tierOf(String medium) {
        if (medium == null) return KvTier.DEVICE;
        return switch (medium.toUpperCase(java.util.Locale.ROOT)) {
            case "CPU", "HOST", "CPU_PINNED" -> KvTier.HOST;
            case "DISK", "SSD", "LOCAL_DISK" -> KvTier.DISK;
            default -> KvTier.DEVICE;
        };
    }

    /** What the engine holds as far as the translator knows, with the id of the last event produced. */
    public synchronized KvCacheSnapshot snapshot() {
        Map<KvTier, Set<Long>> byTier = new EnumMap<>(KvTier.class);
        for (KvTier t : KvTier.values()) byTier.put(t, new HashSet<>());
        for (Map.Entry<Long, Integer> e : held.entrySet()) {
            for (KvTier t : KvTier.values()) if ((e.getValue() & (1 << t.ordinal())) != 0) byTier.get(t).add(e.getKey());
        }
        return new KvCacheSnapshot(nextEventId - 1, byTier, !uncertain);
    }

    /** Whether the engine's cache is unknown (a gap since its last clear or restart). */
    public synchronized boolean uncertain() {
        return uncertain;
    }

    /** Counters: batches, gaps, restarts, blocks skipped (LoRA/extra keys/...), blocks whose parent was unknown, engine blocks stored. */
    public synchronized long[] counters() {
        return new long[] {batches, gaps, restarts, skippedBlocks, unchainableBlocks, storedBlocks};
    }
}
