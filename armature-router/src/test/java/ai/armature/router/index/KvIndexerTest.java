package ai.armature.router.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvEvent;

/** The indexer's event handling (gaps, snapshots, replay, purge), approximate mode and mixed block sizes. */
class KvIndexerTest {

    private static final String MODEL = "m";
    private static final BlockHasher HASHER = new BlockHasher(MODEL);
    private static final long TTL = 120_000_000_000L;

    private static int[] tokens(int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = seed * 1000 + i;
        return t;
    }

    /** Stored events for the full blocks of {@code prompt}, ids from {@code firstId}. */
    private static List<KvEvent> stored(int[] prompt, int blockSize, long firstId) {
        long[] h = HASHER.hashFullBlocks(null, prompt, prompt.length, blockSize);
        List<KvEvent> out = new ArrayList<>();
        long parent = HASHER.rootHash(null);
        for (int i = 0; i < h.length; i++) {
            int[] block = java.util.Arrays.copyOfRange(prompt, i * blockSize, (i + 1) * blockSize);
            out.add(new KvEvent.BlockStored(firstId + i, h[i], parent, blockSize, block));
            parent = h[i];
        }
        return out;
    }

    private static void ingestAll(KvIndexer ix, String w, List<KvEvent> events) {
        for (KvEvent e : events) ix.ingest(w, e);
    }

    /** A snapshot as of event {@code lastEventId} holding {@code hashes} in device memory. */
    static ai.armature.protocol.kv.KvCacheSnapshot snapshot(long lastEventId, long... hashes) {
        java.util.Set<Long> set = new java.util.HashSet<>();
        for (long h : hashes) set.add(h);
        return new ai.armature.protocol.kv.KvCacheSnapshot(lastEventId,
                java.util.Map.of(ai.armature.protocol.kv.KvTier.DEVICE, set));
    }

    @Test
    void matchesTheCachedPrefixPerWorkerInEachWorkersBlockSize() {
        KvIndexer ix = new KvIndexer(TTL);
        int a = ix.addWorker("a", 4, MODEL, true, 1);
        int b = ix.addWorker("b", 2, MODEL, true, 1);
        int c = ix.addWorker("c", 4, MODEL, true, 1);
        int[] prompt = tokens(17, 1);
        ingestAll(ix, "a", stored(java.util.Arrays.copyOf(prompt, 8), 4, 1)); // 2 blocks of 4
        ingestAll(ix, "b", stored(java.util.Arrays.copyOf(prompt, 14), 2, 1)); // 7 blocks of 2
        ix.match(prompt, prompt.length, null);
        assertThat(ix.overlapTokens(a)).isEqualTo(8);
        assertThat(ix.overlapTokens(b)).isEqualTo(14);
        assertThat(ix.overlapTokens(c)).isZero();
        // A salted prompt shares nothing; the block holding the last token never counts.
        ix.match(prompt, prompt.length, "tenant");
        assertThat(ix.overlapTokens(a)).isZero();
        ix.match(prompt, 8, null);
        assertThat(ix.overlapTokens(a)).as("8 tokens: the second block holds the last token").isEqualTo(4);
        assertThat(ix.entries()).isEqualTo(9);
    }

    @Test
    void removedAndClearedBlocksLeaveTheIndexAndReplayChangesNothing() {
        KvIndexer ix = new KvIndexer(TTL);
        int a = ix.addWorker("a", 4, MODEL, true, 1);
        int[] prompt = tokens(13, 2);
        List<KvEvent> events = stored(prompt, 4, 1);
        long[] h = HASHER.hashFullBlocks(null, prompt, 13, 4);
        events.add(new KvEvent.BlockRemoved(4, h[2]));
        ingestAll(ix, "a", events);
        long[] before = ix.heldHashes("a");
        assertThat(before).hasSize(2);
        for (KvEvent e : events) assertThat(ix.ingest("a", e)).isEqualTo(KvIndexer.Ingest.DUPLICATE);
        assertThat(ix.heldHashes("a")).isEqualTo(before);
        ix.match(prompt, 13, null);
        assertThat(ix.overlapTokens(a)).isEqualTo(8);
        assertThat(ix.ingest("a", new KvEvent.AllBlocksCleared(5))).isEqualTo(KvIndexer.Ingest.APPLIED);
        assertThat(ix.heldHashes("a")).isEmpty();
        assertThat(ix.uniqueBlocks()).isZero();
    }

    @Test
    void aGapBuffersUntilASnapshotThenAppliesOnlyNewerEvents() {
        KvIndexer ix = new KvIndexer(TTL);
        ix.addWorker("a", 4, MODEL, true, 1);
        int[] p1 = tokens(8, 3), p2 = tokens(8, 4), p3 = tokens(8, 5);
        List<KvEvent> first = stored(p1, 4, 1); // ids 1, 2
        ingestAll(ix, "a", first);
        // Events 3 and 4 (p2's blocks) are lost; 5 and 6 (p3's blocks) arrive.
        List<KvEvent> lost = stored(p2, 4, 3);
        List<KvEvent> after = stored(p3, 4, 5);
        assertThat(ix.ingest("a", after.get(0))).isEqualTo(KvIndexer.Ingest.RESYNC_NEEDED);
        assertThat(ix.ingest("a", after.get(1))).isEqualTo(KvIndexer.Ingest.BUFFERED);
        assertThat(ix.resyncing("a")).isTrue();
        assertThat(ix.gaps()).isEqualTo(1);
        // The snapshot was taken after event 5: it holds p1, p2 and p3's first block; event 5 is already in it.
        long[] h1 = HASHER.hashFullBlocks(null, p1, 8, 4), h2 = HASHER.hashFullBlocks(null, p2, 8, 4), h3 = HASHER.hashFullBlocks(null, p3, 8, 4);
        ai.armature.protocol.kv.KvCacheSnapshot snap = snapshot(5, h1[0], h1[1], h2[0], h2[1], h3[0]);
        assertThat(ix.applySnapshot("a", snap)).isTrue();
        assertThat(ix.resyncing("a")).isFalse();
        assertThat(ix.lastEventId("a")).isEqualTo(6);
        long[] want = {h1[0], h1[1], h2[0], h2[1], h3[0], h3[1]};
        java.util.Arrays.sort(want);
        assertThat(ix.heldHashes("a")).isEqualTo(want);
        assertThat(lost).hasSize(2);
        // Late copies of the lost events are duplicates now.
        for (KvEvent e : lost) assertThat(ix.ingest("a", e)).isEqualTo(KvIndexer.Ingest.DUPLICATE);
        assertThat(ix.entries()).isEqualTo(6);
    }

    @Test
    void aSnapshotOlderThanTheBufferedEventsAsksForAnother() {
        KvIndexer ix = new KvIndexer(TTL);
        ix.addWorker("a", 4, MODEL, true, 1);
        List<KvEvent> events = stored(tokens(40, 6), 4, 1); // ids 1..10
        ix.ingest("a", events.get(0));
        assertThat(ix.ingest("a", events.get(5))).isEqualTo(KvIndexer.Ingest.RESYNC_NEEDED); // id 6
        // A snapshot as of event 3 cannot be joined to buffered event 6 (4 and 5 are missing).
        assertThat(ix.applySnapshot("a", snapshot(3))).isFalse();
        assertThat(ix.resyncing("a")).isTrue();
        assertThat(ix.applySnapshot("a", snapshot(5, 1, 2, 3))).isTrue();
        assertThat(ix.lastEventId("a")).isEqualTo(6);
        assertThat(ix.blocksHeld("a")).isEqualTo(4);
        assertThat(ix.snapshotsApplied()).isEqualTo(2);
    }

    @Test
    void withoutASnapshotTheWorkersEntriesAreDroppedAndEventsContinue() {
        KvIndexer ix = new KvIndexer(TTL);
        ix.addWorker("a", 4, MODEL, true, 1);
        List<KvEvent> events = stored(tokens(40, 7), 4, 1);
        ingestAll(ix, "a", events.subList(0, 3));
        assertThat(ix.ingest("a", events.get(5))).isEqualTo(KvIndexer.Ingest.RESYNC_NEEDED);
        ix.ingest("a", events.get(6));
        assertThat(ix.abandonResync("a")).isTrue();
        assertThat(ix.blocksHeld("a")).as("only the blocks stored after the gap").isEqualTo(2);
        assertThat(ix.ingest("a", events.get(7))).isEqualTo(KvIndexer.Ingest.APPLIED);
    }

    @Test
    void aWorkerThatLeavesIsPurgedAndItsSlotComesBackEmpty() {
        KvIndexer ix = new KvIndexer(TTL);
        ix.addWorker("a", 4, MODEL, true, 1);
        int b = ix.addWorker("b", 4, MODEL, true, 1);
        int[] prompt = tokens(20, 8);
        ingestAll(ix, "a", stored(prompt, 4, 1));
        ingestAll(ix, "b", stored(prompt, 4, 1));
        assertThat(ix.removeWorker("b")).isTrue();
        assertThat(ix.entries()).isEqualTo(5);
        int c = ix.addWorker("c", 4, MODEL, true, 1);
        assertThat(c).isEqualTo(b);
        ix.match(prompt, prompt.length, null);
        assertThat(ix.overlapTokens(c)).isZero();
        assertThat(ix.overlapTokens(ix.slotOf("a"))).isEqualTo(16);
        assertThat(ix.lastEventId("c")).isZero();
    }

    @Test
    void approximateWorkersHoldWhatTheyWereSentUntilTheTtlOrTheSizeBound() {
        KvIndexer ix = new KvIndexer(TTL);
        int a = ix.addWorker("a", 4, MODEL, false, 6);
        int[] p1 = tokens(17, 9), p2 = tokens(17, 10);
        ix.match(p1, 17, null);
        ix.recordRouted("a", 0);
        ix.match(p1, 17, null);
        assertThat(ix.overlapTokens(a)).isEqualTo(16);
        // Sending p2 (4 blocks) exceeds the bound of 6: p1's two least recently sent blocks go; p1 now matches nothing
        // (its first block went first).
        ix.match(p2, 17, null);
        ix.recordRouted("a", 10);
        assertThat(ix.blocksHeld("a")).isEqualTo(6);
        ix.match(p1, 17, null);
        assertThat(ix.overlapTokens(a)).isZero();
        ix.match(p2, 17, null);
        assertThat(ix.overlapTokens(a)).isEqualTo(16);
        // Sending p2 again refreshes it: at TTL after the first send it survives, p1's rest expires.
        ix.recordRouted("a", 60_000_000_000L);
        ix.expire(TTL + 5);
        assertThat(ix.blocksHeld("a")).isEqualTo(4);
        ix.expire(60_000_000_000L + TTL);
        assertThat(ix.blocksHeld("a")).isZero();
        assertThat(ix.entries()).isZero();
        // Events from an approximate worker are not used.
        assertThat(ix.ingest("a", new KvEvent.AllBlocksCleared(1))).isEqualTo(KvIndexer.Ingest.IGNORED);
    }
    @Test
    void anIncompleteSnapshotMakesAnExactWorkerUncertainUntilItsCacheIsCleared() {
        KvIndexer ix = new KvIndexer(TTL);
        int a = ix.addWorker("a", 4, MODEL, true, 1000);
        int[] known = tokens(8, 3);
        long[] kh = HASHER.hashFullBlocks(null, known, 8, 4);
        ingestAll(ix, "a", stored(known, 4, 1));
        assertThat(ix.ingest("a", stored(tokens(4, 4), 4, 5).getFirst())).isEqualTo(KvIndexer.Ingest.RESYNC_NEEDED);
        ix.applySnapshot("a", new ai.armature.protocol.kv.KvCacheSnapshot(5, java.util.Map.of(ai.armature.protocol.kv.KvTier.DEVICE,
                java.util.Set.of(kh[0])), false));
        assertThat(ix.uncertain("a")).isTrue();
        assertThat(ix.routesApproximately(a)).isTrue();
        assertThat(ix.heldHashes("a")).containsExactly(kh[0]);
        // What the router sends it now counts as held (for the TTL), beside what its events name.
        int[] sent = tokens(13, 5);
        long[] sh = HASHER.hashFullBlocks(null, sent, 13, 4);
        ix.match(sent, sent.length, null);
        ix.recordRouted("a", 0);
        ix.match(sent, sent.length, null);
        assertThat(ix.overlapTokens(a)).isEqualTo(12);
        assertThat(ix.entries()).isEqualTo(4);
        // Its events settle the guesses: one stored (now exact), one removed; the rest expire.
        ix.ingest("a", new KvEvent.BlockStored(6, sh[0], HASHER.rootHash(null), 4, java.util.Arrays.copyOf(sent, 4)));
        ix.ingest("a", new KvEvent.BlockRemoved(7, sh[1]));
        assertThat(ix.entries()).isEqualTo(3);
        ix.expire(TTL + 1);
        assertThat(ix.heldHashes("a")).containsExactlyInAnyOrder(kh[0], sh[0]);
        assertThat(ix.uncertain("a")).isTrue();
        // A cleared cache is known again: empty, exact.
        ix.ingest("a", new KvEvent.AllBlocksCleared(8));
        assertThat(ix.uncertain("a")).isFalse();
        assertThat(ix.routesApproximately(a)).isFalse();
        assertThat(ix.entries()).isZero();
        ix.match(sent, sent.length, null);
        ix.recordRouted("a", TTL + 2);
        assertThat(ix.entries()).as("an exact worker is not guessed at").isZero();
    }

    @Test
    void aPromptNobodyHeldCountsAsPendingThroughItsWholeChainOnceAFollowerArrives() {
        // Such a prompt is recorded as its first block and the tokens of the rest, hashed only when a prompt with the
        // same first block is matched: the follower must find what it would have found with every block recorded.
        KvIndexer ix = new KvIndexer(TTL);
        int a = ix.addWorker("a", 4, MODEL, true, 1);
        int b = ix.addWorker("b", 4, MODEL, true, 1);
        int[] doc = tokens(33, 7); // 8 full blocks, all reusable (the last token is the 33rd)
        ix.match(doc, doc.length, null);
        ix.recordPending("r1", "a", 0);
        assertThat(ix.pendingBlocks("a")).isEqualTo(8);
        int[] follower = java.util.Arrays.copyOf(doc, 37);
        follower[35] = -1;
        ix.match(follower, follower.length, null);
        assertThat(ix.overlapBlocks(a)).isEqualTo(8);
        assertThat(ix.overlapBlocks(b)).isZero();
        ix.recordPending("r1b", "a", 0); // its 9th block, and the 8 again (counted once per worker)
        assertThat(ix.pendingBlocks("a")).isEqualTo(9);
        ix.releasePending("r1b");
        assertThat(ix.pendingBlocks("a")).isEqualTo(8);

        // The worker's events store the first 3 blocks of a second new prompt before its follower arrives (a chunked
        // prefill under way): the follower finds them in the index and the 5 others pending.
        int[] doc2 = tokens(33, 8);
        ix.match(doc2, doc2.length, null);
        ix.recordPending("r2", "a", 0);
        assertThat(ix.pendingBlocks("a")).isEqualTo(16);
        ingestAll(ix, "a", stored(java.util.Arrays.copyOf(doc2, 12), 4, 1));
        ix.match(doc2, doc2.length, null);
        assertThat(ix.overlapBlocks(a)).isEqualTo(8);
        assertThat(ix.pendingBlocks("a")).isEqualTo(8 + 5);
        ix.releasePending("r2");
        assertThat(ix.pendingBlocks("a")).isEqualTo(8);
        assertThat(ix.entries()).isEqualTo(3);

        // Released before any follower: nothing stays.
        int[] doc3 = tokens(33, 9);
        ix.match(doc3, doc3.length, null);
        ix.recordPending("r3", "b", 0);
        assertThat(ix.pendingBlocks("b")).isEqualTo(8);
        ix.releasePending("r3");
        assertThat(ix.pendingBlocks("b")).isZero();
        ix.match(doc3, doc3.length, null);
        assertThat(ix.overlapBlocks(b)).isZero();

        // A worker whose cache is cleared loses its pending prompts, expanded or not; releasing them later is harmless.
        ix.match(doc3, doc3.length, null);
        ix.recordPending("r4", "a", 0);
        ix.ingest("a", new KvEvent.AllBlocksCleared(4));
        assertThat(ix.pendingBlocks("a")).isZero();
        for (int[] p : new int[][] {doc, doc3}) {
            ix.match(p, p.length, null);
            assertThat(ix.overlapBlocks(a)).isZero();
        }
        ix.releasePending("r1");
        ix.releasePending("r4");
        assertThat(ix.pendingBlocks("a")).isZero();
        // A prompt recorded after the purge is pending as usual.
        ix.match(doc3, doc3.length, null);
        ix.recordPending("r5", "a", 0);
        ix.match(doc3, doc3.length, null);
        assertThat(ix.overlapBlocks(a)).isEqualTo(8);
    }
}
