package ai.armature.upstream.kv;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Engine events to Armature's chained hashes, checked against BlockHasher over the whole token sequence. */
class KvEventTranslatorTest {

    private final BlockHasher hasher = new BlockHasher("served");

    private static EngineKvBatch batch(long seq, EngineKvEvent... events) {
        return new EngineKvBatch(seq, 0, 0, List.of(events));
    }

    private static EngineKvEvent.Stored stored(long[] hashes, Long parent, int[] tokens, int blockSize) {
        return new EngineKvEvent.Stored(hashes, parent, tokens, blockSize, "GPU", null, true);
    }

    private static int[] range(int from, int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = from + i;
        return a;
    }

    private static long[] storedHashes(List<KvEvent> events) {
        return events.stream().filter(e -> e instanceof KvEvent.BlockStored).mapToLong(e -> ((KvEvent.BlockStored) e).blockHash()).toArray();
    }

    @Test
    void vllmBlocksChainAcrossEventsLikeTheWorkersOwnHashes() {
        KvEventTranslator t = new KvEventTranslator("w", hasher, 4);
        int[] tokens = range(100, 16);
        List<KvEvent> out = new ArrayList<>(t.accept(batch(0, stored(new long[] {1, 2}, null, Arrays.copyOfRange(tokens, 0, 8), 4))));
        out.addAll(t.accept(batch(1, stored(new long[] {3, 4}, 2L, Arrays.copyOfRange(tokens, 8, 16), 4))));
        assertThat(storedHashes(out)).containsExactly(hasher.hashFullBlocks(null, tokens, 16, 4));
        assertThat(out.stream().mapToLong(KvEvent::eventId).toArray()).containsExactly(1, 2, 3, 4);
        KvEvent.BlockStored third = (KvEvent.BlockStored) out.get(2);
        assertThat(third.parentHash()).isEqualTo(((KvEvent.BlockStored) out.get(1)).blockHash());
        assertThat(third.tokens()).containsExactly(108, 109, 110, 111);
        List<KvEvent> removed = t.accept(batch(2, new EngineKvEvent.Removed(new long[] {4}, "GPU")));
        assertThat(removed).singleElement().isInstanceOf(KvEvent.BlockRemoved.class);
        assertThat(((KvEvent.BlockRemoved) removed.getFirst()).blockHash()).isEqualTo(storedHashes(out)[3]);
        KvCacheSnapshot snap = t.snapshot();
        assertThat(snap.complete()).isTrue();
        assertThat(snap.lastEventId()).isEqualTo(5);
        assertThat(snap.hashes(KvTier.DEVICE)).containsExactlyInAnyOrder(Arrays.stream(storedHashes(out)).limit(3).boxed().toArray(Long[]::new));
    }

    @Test
    void perTokenPagesAreReblockedIntoTheRoutersBlockSize() {
        // SGLang with page size 1: one event per token, chained by hash; Armature indexes it in blocks of 4.
        KvEventTranslator t = new KvEventTranslator("w", hasher, 4);
        int[] tokens = range(7, 10);
        List<KvEvent> out = new ArrayList<>();
        Long parent = null;
        for (int i = 0; i < tokens.length; i++) {
            out.addAll(t.accept(batch(i, stored(new long[] {1000 + i}, parent, new int[] {tokens[i]}, 1))));
            parent = 1000L + i;
        }
        assertThat(storedHashes(out)).containsExactly(hasher.hashFullBlocks(null, tokens, 10, 4));
        // Evicting the leaf token that completes block 1 (token 8, engine hash 1007) removes that block.
        List<KvEvent> removed = t.accept(batch(10, new EngineKvEvent.Removed(new long[] {1009, 1008, 1007}, "GPU")));
        assertThat(removed).hasSize(1);
        assertThat(((KvEvent.BlockRemoved) removed.getFirst()).blockHash()).isEqualTo(storedHashes(out)[1]);
    }

    @Test
    void aSkippedSequenceNumberMakesTheSnapshotIncompleteAndLeavesAGapInTheIds() {
        KvEventTranslator t = new KvEventTranslator("w", hasher, 2);
        List<KvEvent> first = t.accept(batch(0, stored(new long[] {1}, null, new int[] {5, 6}, 2)));
        assertThat(first.getFirst().eventId()).isEqualTo(1);
        // seq 1 is lost: it stored block 2 (child of 1); seq 2 stores block 3 (child of 2: unchainable) and 4 (child of 1)
        List<KvEvent> after = new ArrayList<>(t.accept(batch(2, stored(new long[] {3}, 2L, new int[] {9, 9}, 2))));
        after.addAll(t.accept(batch(3, stored(new long[] {4}, 1L, new int[] {7, 8}, 2))));
        assertThat(after).singleElement().extracting(KvEvent::eventId).isEqualTo(3L); // id 2 skipped
        assertThat(t.uncertain()).isTrue();
        assertThat(t.counters()[4]).isEqualTo(1); // one unchainable block
        KvCacheSnapshot snap = t.snapshot();
        assertThat(snap.complete()).isFalse();
        assertThat(snap.hashes(KvTier.DEVICE)).hasSize(2);
        // The engine clears its cache: known again (empty).
        List<KvEvent> cleared = t.accept(batch(4, new EngineKvEvent.Cleared()));
        assertThat(cleared).singleElement().isInstanceOf(KvEvent.AllBlocksCleared.class);
        assertThat(t.snapshot().complete()).isTrue();
        assertThat(t.snapshot().allHashes()).isEmpty();
    }

    @Test
    void aRestartedEngineStartsEmpty() {
        KvEventTranslator t = new KvEventTranslator("w", hasher, 2);
        t.accept(batch(0, stored(new long[] {1}, null, new int[] {5, 6}, 2)));
        t.accept(batch(1, stored(new long[] {2}, 1L, new int[] {7, 8}, 2)));
        List<KvEvent> out = t.accept(batch(0, stored(new long[] {9}, null, new int[] {1, 1}, 2)));
        assertThat(out.get(0)).isInstanceOf(KvEvent.AllBlocksCleared.class);
        assertThat(out.get(1)).isInstanceOf(KvEvent.BlockStored.class);
        assertThat(t.snapshot().complete()).isTrue();
        assertThat(t.snapshot().allHashes()).hasSize(1);
        // Subscribing late to a running engine: unknown from the start.
        KvEventTranslator late = new KvEventTranslator("w", hasher, 2);
        assertThat(late.accept(batch(57, stored(new long[] {1}, null, new int[] {5, 6}, 2))).getFirst().eventId()).isEqualTo(2);
        assertThat(late.snapshot().complete()).isFalse();
    }

    @Test
    void tiersFollowTheMedium() {
        KvEventTranslator t = new KvEventTranslator("w", hasher, 2);
        t.accept(batch(0, stored(new long[] {1}, null, new int[] {5, 6}, 2)));
        List<KvEvent> host = t.accept(batch(1, new EngineKvEvent.Stored(new long[] {1}, null, new int[] {5, 6}, 2, "CPU", null, true)));
        assertThat(((KvEvent.BlockStored) host.getFirst()).tier()).isEqualTo(KvTier.HOST);
        List<KvEvent> gone = t.accept(batch(2, new EngineKvEvent.Removed(new long[] {1}, "GPU")));
        assertThat(((KvEvent.BlockRemoved) gone.getFirst()).tier()).isEqualTo(KvTier.DEVICE);
        assertThat(t.snapshot().hashes(KvTier.HOST)).hasSize(1);
        assertThat(t.snapshot().hashes(KvTier.DEVICE)).isEmpty();
    }
}
