package ai.armature.serving.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.kv.InMemoryKvEventLog;
import ai.armature.protocol.kv.KvEvent;

class BlockPoolTest {

    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    @Test
    void allocatesFreeBlocksAndCountsUsers() {
        BlockPool m = new BlockPool(4, 4, event -> { });
        assertThat(m.allocate()).isEqualTo(0);
        assertThat(m.allocate()).isEqualTo(1);
        assertThat(m.usedBlocks()).isEqualTo(2);
        assertThat(m.allocatableBlocks()).isEqualTo(2);
        m.release(1);
        assertThat(m.usedBlocks()).isEqualTo(1);
        assertThat(m.cachedFreeBlocks()).isZero();
        assertThat(m.allocate()).isEqualTo(1);
        assertThat(m.allocate()).isEqualTo(2);
        assertThat(m.allocate()).isEqualTo(3);
        assertThat(m.allocate()).isEqualTo(-1);
        assertThatThrownBy(() -> {
            BlockPool n = new BlockPool(1, 4, e -> { });
            n.release(0);
        }).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void registeredBlocksAreSharedWithReferenceCountsAndStayCachedWhenFreed() {
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        BlockPool m = new BlockPool(4, 4, log);
        int b = m.allocate();
        assertThat(m.register(b, 111L, 7L, TOKENS, 0)).isTrue();
        assertThat(m.register(b, 111L, 7L, TOKENS, 0)).isFalse();
        int twin = m.allocate();
        assertThat(m.register(twin, 111L, 7L, TOKENS, 0)).as("same hash computed twice stays private").isFalse();

        assertThat(m.lookup(111L)).isEqualTo(b);
        m.acquire(b);
        assertThat(m.refCount(b)).isEqualTo(2);
        m.release(b);
        m.release(b);
        assertThat(m.usedBlocks()).isEqualTo(1);
        assertThat(m.cachedFreeBlocks()).isEqualTo(1);
        assertThat(m.lookup(111L)).isEqualTo(b);
        m.acquire(b); // a hit on a cached free block brings it back into use
        assertThat(m.cachedFreeBlocks()).isZero();
        assertThat(m.usedBlocks()).isEqualTo(2);
        m.release(twin);
        assertThat(m.allocatableBlocks()).isEqualTo(3);

        assertThat(log.events()).hasSize(1);
        KvEvent.BlockStored stored = (KvEvent.BlockStored) log.events().getFirst();
        assertThat(stored.eventId()).isEqualTo(1);
        assertThat(stored.blockHash()).isEqualTo(111L);
        assertThat(stored.parentHash()).isEqualTo(7L);
        assertThat(stored.tokens()).containsExactly(1, 2, 3, 4);
    }

    @Test
    void evictsLeastRecentlyReleasedCachedBlocksOnlyWhenNoFreeBlockIsLeft() {
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        BlockPool m = new BlockPool(4, 4, log);
        int[] b = new int[4];
        for (int i = 0; i < 4; i++) {
            b[i] = m.allocate();
            m.register(b[i], 100L + i, 99L, TOKENS, 4 * i);
        }
        m.release(b[2]);
        m.release(b[0]);
        m.release(b[3]);
        assertThat(m.evictionOrder()).containsExactly(b[2], b[0], b[3]);
        m.acquire(b[0]); // touched: leaves the LRU list
        m.release(b[0]); // and comes back as most recent
        assertThat(m.evictionOrder()).containsExactly(b[2], b[3], b[0]);

        assertThat(m.allocate()).isEqualTo(b[2]);
        assertThat(m.lookup(102L)).isEqualTo(-1);
        assertThat(m.allocate()).isEqualTo(b[3]);
        assertThat(m.cachedFreeBlocks()).isEqualTo(1);
        assertThat(log.events()).extracting(KvEvent::eventId).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(log.events().subList(4, 6)).containsExactly(new KvEvent.BlockRemoved(5, 102L), new KvEvent.BlockRemoved(6, 103L));
        assertThat(m.registeredHashes()).containsExactlyInAnyOrder(100L, 101L);
    }

    @Test
    void freeBlocksAreUsedBeforeCachedOnesAreEvicted() {
        BlockPool m = new BlockPool(3, 4, event -> { });
        int cached = m.allocate();
        m.register(cached, 5L, 0L, TOKENS, 0);
        m.release(cached);
        int x = m.allocate();
        int y = m.allocate();
        assertThat(x).isNotEqualTo(cached);
        assertThat(y).isNotEqualTo(cached);
        assertThat(m.lookup(5L)).isEqualTo(cached);
        assertThat(m.allocate()).isEqualTo(cached);
        assertThat(m.lookup(5L)).isEqualTo(-1);
    }

    @Test
    void clearingTheCacheFreesCachedBlocksAndPublishesOneEvent() {
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        BlockPool m = new BlockPool(4, 4, log);
        int a = m.allocate();
        int b = m.allocate();
        m.register(a, 1L, 0L, TOKENS, 0);
        m.register(b, 2L, 1L, TOKENS, 4);
        m.release(a);
        m.clearCache();
        assertThat(m.cachedFreeBlocks()).isZero();
        assertThat(m.registeredHashes()).isEmpty();
        assertThat(m.allocatableBlocks()).isEqualTo(3);
        assertThat(log.events().getLast()).isEqualTo(new KvEvent.AllBlocksCleared(3));
        m.release(b); // a used block became private: it goes back free, not cached
        assertThat(m.cachedFreeBlocks()).isZero();
        assertThat(m.allocatableBlocks()).isEqualTo(4);
    }

    @Test
    void sizingDividesTheBudgetByBlockBytes() {
        assertThat(KvCacheSizing.blocksFor(1L << 30, 131072, 16)).isEqualTo(512);
        assertThatThrownBy(() -> KvCacheSizing.blocksFor(1000, 131072, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--kv-cache-memory");
    }

    @Test
    void theBudgetRuleTakesTheConfiguredSizeThenTheRunnersThenWhatSequencesCanUse() {
        assertThat(KvCacheSizing.budgetBytes(12_345L, 999, 10, 2, 100, 1)).isEqualTo(12_345L);
        assertThat(KvCacheSizing.budgetBytes(null, 999, 10, 2, 100, 1)).isEqualTo(999);
        // Without either: never more than max_seqs sequences at full context use (2 * 100 tokens * 10 bytes).
        assertThat(KvCacheSizing.budgetBytes(null, -1, 10, 2, 100, 1)).isEqualTo(2000);
        assertThatThrownBy(() -> KvCacheSizing.budgetBytes(KvCacheSizing.physicalMemoryBytes(), -1, 10, 2, 100, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than this machine's");
    }
}
