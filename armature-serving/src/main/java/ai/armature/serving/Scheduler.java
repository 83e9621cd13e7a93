package ai.armature.serving;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.serving.kv.KvBlockManager;

/**
 * Plans each step of continuous batching: which sequences compute which positions, within a token budget, with
 * KV blocks for all of them.
 *
 * <p>Order of a step: (1) running sequences that are decoding get one token each, highest priority / oldest first;
 * (2) running sequences still in prefill get the next chunk of their prompt; (3) waiting sequences are admitted,
 * in the same order, while the budget, {@code maxSeqs} and free blocks allow, reusing their longest cached prefix.
 * A waiting sequence that does not fit stays first in line (no overtaking, so no starvation). When a running
 * sequence needs a block and none is left, the lowest-priority / newest running sequence not yet scheduled in this
 * step is preempted (its blocks released, its K/V recomputed when it is admitted again); if that is the sequence
 * itself, it waits. The highest-priority sequence therefore always progresses: no deadlock.
 *
 * <p>Two invariants protect other sequences' K/V: a step only writes positions {@code >= computed}, which lie in
 * blocks the sequence allocated itself (a prefix hit is capped below the block holding the last token, whose
 * logits are needed, so it is always computed into a private block); and only fully computed blocks are
 * registered for sharing.
 */
final class Scheduler {

    private final KvBlockManager blocks;
    private final BlockHasher hasher;
    private final int blockSize;
    private final int maxBatchedTokens;
    private final int maxSeqs;

    final TreeSet<Sequence> waiting = new TreeSet<>(Sequence.ORDER);
    final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> scheduled = new ArrayList<>();
    private long preemptions;

    Scheduler(KvBlockManager blocks, BlockHasher hasher, int maxBatchedTokens, int maxSeqs) {
        this.blocks = blocks;
        this.hasher = hasher;
        this.blockSize = blocks.blockSize();
        this.maxBatchedTokens = maxBatchedTokens;
        this.maxSeqs = maxSeqs;
    }

    long preemptions() {
        return preemptions;
    }

    /** Plans one step; returns the scheduled sequences (with stepStart/stepCount set), in batch order. */
    List<Sequence> schedule() {
        scheduled.clear();
        int budget = maxBatchedTokens;
        running.sort(Sequence.ORDER);
        Sequence[] snapshot = running.toArray(new Sequence[0]);

        for (Sequence s : snapshot) {
            if (budget == 0) break;
            if (s.status != Sequence.Status.RUNNING || !s.decoding()) continue;
            if (!ensureBlocks(s, s.computed + 1)) continue;
            take(s, 1);
            budget--;
        }
        for (Sequence s : snapshot) {
            if (budget == 0) break;
            if (s.status != Sequence.Status.RUNNING || s.scheduled || s.decoding()) continue;
            int chunk = Math.min(s.length - s.computed, budget);
            if (!ensureBlocks(s, s.computed + chunk)) continue;
            take(s, chunk);
            budget -= chunk;
        }
        while (budget > 0 && running.size() < maxSeqs && !waiting.isEmpty()) {
            Sequence s = waiting.first();
            if (!admit(s, budget)) break;
            budget -= s.stepCount;
        }
        return scheduled;
    }

    /** Starts a waiting sequence with its cached prefix and first chunk, if its blocks are available now. */
    private boolean admit(Sequence s, int budget) {
        // Reuse full cached blocks, but never the one holding the last known token: its logits must be computed.
        int reusable = (s.length - 1) / blockSize;
        s.ensureHashes(reusable, blockSize, hasher);
        int hit = blocks.cachedPrefixBlocks(s.hashes, reusable);
        int hitTokens = hit * blockSize;
        int chunk = Math.min(s.length - hitTokens, budget);
        int needed = ceilDiv(hitTokens + chunk, blockSize);
        int fresh = needed - hit;
        int hitsLeavingLru = 0;
        for (int i = 0; i < hit; i++) {
            if (blocks.refCount(blocks.lookup(s.hashes[i])) == 0) hitsLeavingLru++;
        }
        if (fresh + hitsLeavingLru > blocks.allocatableBlocks()) return false;

        waiting.remove(s);
        for (int i = 0; i < hit; i++) {
            int b = blocks.lookup(s.hashes[i]);
            blocks.acquire(b);
            s.addBlock(b);
        }
        for (int i = 0; i < fresh; i++) s.addBlock(blocks.allocate());
        s.computed = hitTokens;
        s.registered = hit;
        if (s.cachedPromptTokens < 0) {
            s.cachedPromptTokens = Math.min(hitTokens, s.promptLength);
            blocks.recordPrefixLookup(s.promptLength, s.cachedPromptTokens);
        }
        s.status = Sequence.Status.RUNNING;
        running.add(s);
        take(s, chunk);
        return true;
    }

    /** Gives {@code s} blocks for positions [0, end), preempting others (or itself) if the pool is exhausted. */
    private boolean ensureBlocks(Sequence s, int end) {
        int needed = ceilDiv(end, blockSize) - s.numBlocks;
        while (needed > 0) {
            int b = blocks.allocate();
            if (b >= 0) {
                s.addBlock(b);
                needed--;
                continue;
            }
            Sequence victim = lowestUnscheduled();
            preempt(victim);
            if (victim == s) return false;
        }
        return true;
    }

    private Sequence lowestUnscheduled() {
        Sequence victim = null;
        for (Sequence r : running) {
            if (!r.scheduled && (victim == null || Sequence.ORDER.compare(r, victim) > 0)) victim = r;
        }
        if (victim == null) throw new IllegalStateException("no running sequence left to preempt");
        return victim;
    }

    private void preempt(Sequence s) {
        releaseBlocks(s);
        running.remove(s);
        s.status = Sequence.Status.WAITING;
        s.preemptions++;
        preemptions++;
        waiting.add(s);
    }

    /** Releases a sequence's blocks, last first, so the cache evicts the tails of chains before their heads. */
    void releaseBlocks(Sequence s) {
        for (int i = s.numBlocks - 1; i >= 0; i--) blocks.release(s.blockTable[i]);
        s.numBlocks = 0;
        s.computed = 0;
        s.registered = 0;
    }

    private void take(Sequence s, int count) {
        s.scheduled = true;
        s.stepStart = s.computed;
        s.stepCount = count;
        scheduled.add(s);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
