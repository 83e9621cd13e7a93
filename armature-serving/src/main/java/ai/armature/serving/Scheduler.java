package ai.armature.serving;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import ai.armature.serving.kv.KvCacheManager;
import ai.armature.serving.kv.PrefixHit;

/**
 * Plans each step of continuous batching: which sequences compute which positions, within a token budget, with
 * KV blocks for all of them. It owns the waiting and running queues ({@link #add}, {@link #finish}); the blocks
 * belong to the {@link KvCacheManager}, which the scheduler asks for prefix hits and slots and never bypasses.
 *
 * <p>Order of a step: (1) running sequences that are decoding get one token each, highest priority / oldest first;
 * (2) running sequences still in prefill get the next chunk of their prompt; (3) waiting sequences are admitted,
 * in the same order, while the budget, {@code maxSeqs} and free blocks allow, reusing their longest cached prefix.
 * A waiting sequence that does not fit stays first in line (no overtaking, so no starvation). When a running
 * sequence needs a block and none is left, the lowest-priority / newest running sequence not yet scheduled in this
 * step is preempted (its blocks freed, its K/V recomputed when it is admitted again); if that is the sequence
 * itself, it waits. The highest-priority sequence therefore always progresses: no deadlock.
 *
 * <p>A sequence whose cached prefix is partly in host memory or on disk is admitted with its blocks, which the
 * manager copies up in the background; it runs from the first step after they arrived ({@link KvCacheManager#isLoading}).
 * If a copy fails, the sequence goes back to the waiting queue (in its place) and its next lookup recomputes what it
 * lost. A sequence whose copies are still running may be preempted like any other (the copies hold their blocks).
 *
 * <p>Invariant: a step only writes positions {@code >= computed} of a sequence, which the manager guarantees lie
 * in blocks private to it; {@code computed} only moves forward by what the runner computed (or back to 0 on
 * preemption).
 */
final class Scheduler {

    private final KvCacheManager kv;
    private final int maxBatchedTokens;
    private final int maxSeqs;

    private final TreeSet<Sequence> waiting = new TreeSet<>(Sequence.ORDER);
    private final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> scheduled = new ArrayList<>();
    private long preemptions;

    Scheduler(KvCacheManager kv, int maxBatchedTokens, int maxSeqs) {
        this.kv = kv;
        this.maxBatchedTokens = maxBatchedTokens;
        this.maxSeqs = maxSeqs;
    }

    /** Queues a new sequence (status WAITING). */
    void add(Sequence s) {
        if (s.status != Sequence.Status.WAITING) throw new IllegalStateException("only a waiting sequence can be added");
        waiting.add(s);
    }

    /** Takes a sequence out of the queues and frees its blocks; the caller marks it finished. */
    void finish(Sequence s) {
        if (s.status == Sequence.Status.RUNNING) running.remove(s);
        else waiting.remove(s);
        free(s);
        releasePrefixHold(s);
    }

    boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    int waitingCount() {
        return waiting.size();
    }

    int runningCount() {
        return running.size();
    }

    long preemptions() {
        return preemptions;
    }

    /** Tokens of waiting and running sequences that still need K/V before they decode (prompts, recomputation). */
    long pendingPrefillTokens() {
        long n = 0;
        for (Sequence s : waiting) n += s.length - s.computed;
        for (Sequence s : running) if (!s.decoding()) n += s.length - s.computed;
        return n;
    }

    /** Plans one step; returns the scheduled sequences (with stepStart/stepCount set), in batch order. */
    List<Sequence> schedule() {
        scheduled.clear();
        kv.poll();
        int budget = maxBatchedTokens;
        running.sort(Sequence.ORDER);
        Sequence[] snapshot = running.toArray(new Sequence[0]);
        for (Sequence s : snapshot) {
            if (kv.loadFailed(s.blocks)) restart(s);
        }

        for (Sequence s : snapshot) {
            if (budget == 0) break;
            if (s.status != Sequence.Status.RUNNING || kv.isLoading(s.blocks) || !s.decoding()) continue;
            if (!ensureSlots(s, s.computed + 1)) continue;
            take(s, 1);
            budget--;
        }
        for (Sequence s : snapshot) {
            if (budget == 0) break;
            if (s.status != Sequence.Status.RUNNING || s.scheduled || kv.isLoading(s.blocks) || s.decoding()) continue;
            int chunk = Math.min(s.length - s.computed, budget);
            if (!ensureSlots(s, s.computed + chunk)) continue;
            take(s, chunk);
            budget -= chunk;
        }
        while (budget > 0 && running.size() < maxSeqs && !waiting.isEmpty()) {
            Sequence s = waiting.first();
            if (!admit(s, budget)) {
                // Nothing runs and the first in line does not fit: what it needs is held for the prefixes other waiting
                // sequences received (KV transfers). Those blocks stay cached, now evictable (a sequence that still finds
                // them when admitted uses them), and the first in line tries again; otherwise nothing could ever run.
                if (!running.isEmpty() || !releaseOtherPrefixHolds(s) || !admit(s, budget)) break;
            }
            budget -= s.stepCount;
        }
        return scheduled;
    }

    /** Starts a waiting sequence with its cached prefix and first chunk, if its blocks are available now. */
    private boolean admit(Sequence s, int budget) {
        // Prompt logprobs need the logits of every prompt position, so such a request computes its whole prompt.
        PrefixHit hit = s.needsPromptLogprobs() ? PrefixHit.NONE : kv.findCachedPrefix(s.blocks, s.tokens, s.length);
        // With blocks to copy up, the first chunk waits for them: allocate only the prefix now.
        boolean copiesUp = hit.lowerTierBlocks() > 0;
        int chunk = copiesUp ? 0 : Math.min(s.length - hit.tokens(), budget);
        if (!kv.allocateSlots(s.blocks, hit, chunk)) return false;
        releasePrefixHold(s); // the table holds the received blocks now (or they were not part of the hit)
        waiting.remove(s);
        s.computed = hit.tokens();
        if (s.cachedPromptTokens < 0) {
            s.cachedPromptTokens = Math.min(hit.tokens(), s.promptLength);
            if (!s.needsPromptLogprobs()) kv.recordPrefixLookup(s.promptLength, s.cachedPromptTokens);
        }
        s.status = Sequence.Status.RUNNING;
        running.add(s);
        if (copiesUp) {
            s.stepCount = 0;
        } else {
            take(s, chunk);
        }
        return true;
    }

    /** A copy up failed: the sequence waits again (in its place in line); its prefix lookup is counted anew when it is admitted. */
    private void restart(Sequence s) {
        free(s);
        running.remove(s);
        s.status = Sequence.Status.WAITING;
        if (s.cachedPromptTokens >= 0) {
            kv.recordPrefixLookup(-s.promptLength, -s.cachedPromptTokens);
            s.cachedPromptTokens = -1;
        }
        waiting.add(s);
    }

    /** Gives {@code s} slots for positions [0, end), preempting others (or itself) if the pool is exhausted. */
    private boolean ensureSlots(Sequence s, int end) {
        while (!kv.allocateSlots(s.blocks, end)) {
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
        free(s);
        running.remove(s);
        s.status = Sequence.Status.WAITING;
        s.preemptions++;
        preemptions++;
        waiting.add(s);
    }

    /** Releases the received prefixes held for waiting sequences other than {@code keep}; whether there was any. */
    private boolean releaseOtherPrefixHolds(Sequence keep) {
        boolean any = false;
        for (Sequence w : waiting) {
            if (w != keep && w.prefixHold != null) {
                releasePrefixHold(w);
                any = true;
            }
        }
        return any;
    }

    private void releasePrefixHold(Sequence s) {
        if (s.prefixHold == null) return;
        kv.releasePrefix(s.prefixHold);
        s.prefixHold = null;
    }

    private void free(Sequence s) {
        kv.free(s.blocks);
        s.computed = 0;
    }

    private void take(Sequence s, int count) {
        s.scheduled = true;
        s.stepStart = s.computed;
        s.stepCount = count;
        scheduled.add(s);
    }
}
