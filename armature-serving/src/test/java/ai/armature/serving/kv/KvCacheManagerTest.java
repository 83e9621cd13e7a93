package ai.armature.serving.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.InMemoryKvEventLog;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;

class KvCacheManagerTest {

    private static final BlockHasher HASHER = new BlockHasher("m");

    private static int[] tokens(int n, int offset) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = offset + i;
        return t;
    }

    @Test
    void cachedBlocksCarryTheProtocolChainAndAreFoundByTheNextSequence() {
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        KvCacheManager kv = new KvCacheManager(16, 4, HASHER, log);
        int[] prompt = tokens(10, 100);
        BlockTable a = kv.newBlockTable(null);
        assertThat(kv.findCachedPrefix(a, prompt, 10)).isEqualTo(PrefixHit.NONE);
        assertThat(kv.allocateSlots(a, PrefixHit.NONE, 10)).isTrue();
        assertThat(a.size()).isEqualTo(3);
        kv.cacheFullBlocks(a, prompt, 10);
        assertThat(a.cachedBlocks()).isEqualTo(2);

        long[] expected = HASHER.hashFullBlocks(null, prompt, 10, 4);
        List<KvEvent> events = log.events();
        assertThat(events).usingRecursiveFieldByFieldElementComparator().containsExactly(
                new KvEvent.BlockStored(1, expected[0], HASHER.rootHash(null), 4, new int[] {100, 101, 102, 103}, KvTier.DEVICE),
                new KvEvent.BlockStored(2, expected[1], expected[0], 4, new int[] {104, 105, 106, 107}, KvTier.DEVICE));

        // The same prompt: both full blocks hit; the block holding the last token (position 9) is never reused.
        BlockTable b = kv.newBlockTable(null);
        PrefixHit hit = kv.findCachedPrefix(b, prompt, 10);
        assertThat(hit).isEqualTo(new PrefixHit(2, 8));
        assertThat(kv.allocateSlots(b, hit, 2)).isTrue();
        assertThat(b.block(0)).isEqualTo(a.block(0));
        assertThat(b.block(1)).isEqualTo(a.block(1));
        assertThat(b.block(2)).isNotEqualTo(a.block(2));
        assertThat(b.cachedBlocks()).isEqualTo(2);
        // A prompt of exactly two blocks reuses only the first: its last token's block must be computed.
        assertThat(kv.findCachedPrefix(kv.newBlockTable(null), prompt, 8)).isEqualTo(new PrefixHit(1, 4));
        // Another salt is another namespace.
        assertThat(kv.findCachedPrefix(kv.newBlockTable("tenant"), prompt, 10)).isEqualTo(PrefixHit.NONE);

        kv.free(a);
        kv.free(b);
        assertThat(kv.usedBlocks()).isZero();
        assertThat(kv.cachedFreeBlocks()).isEqualTo(2);
        assertThat(kv.snapshot().lastEventId()).isEqualTo(2);
        assertThat(kv.snapshot().hashes(KvTier.DEVICE)).containsExactlyInAnyOrder(expected[0], expected[1]);
    }

    @Test
    void allocationIsAllOrNothingAndCountsHitsThatLeaveTheEvictableList() {
        KvCacheManager kv = new KvCacheManager(4, 4, HASHER, e -> { });
        int[] prompt = tokens(9, 0);
        BlockTable a = kv.newBlockTable(null);
        assertThat(kv.allocateSlots(a, PrefixHit.NONE, 9)).isTrue();
        kv.cacheFullBlocks(a, prompt, 9);
        kv.free(a); // two cached blocks, two free

        BlockTable b = kv.newBlockTable(null);
        PrefixHit hit = kv.findCachedPrefix(b, prompt, 9);
        assertThat(hit.blocks()).isEqualTo(2);
        // 2 cached blocks leave the evictable list + 3 fresh ones = 5 > 4: refused, nothing taken.
        assertThat(kv.allocateSlots(b, hit, 9)).isFalse();
        assertThat(b.size()).isZero();
        assertThat(kv.usedBlocks()).isZero();
        assertThat(kv.allocateSlots(b, hit, 1)).isTrue();
        assertThat(kv.usedBlocks()).isEqualTo(3);
        assertThat(kv.allocateSlots(b, 16)).isTrue();
        assertThat(kv.allocateSlots(b, 17)).isFalse();
        assertThat(b.size()).isEqualTo(4);
        assertThatThrownBy(() -> kv.allocateSlots(b, PrefixHit.NONE, 1)).isInstanceOf(IllegalStateException.class);
        kv.free(b);
        assertThat(kv.usedBlocks()).isZero();
    }

    @Test
    void freeingReleasesTheTailFirstSoChainsAreEvictedFromTheirEnd() {
        KvCacheManager kv = new KvCacheManager(3, 2, HASHER, e -> { });
        int[] prompt = tokens(7, 0);
        BlockTable a = kv.newBlockTable(null);
        kv.allocateSlots(a, PrefixHit.NONE, 6);
        kv.cacheFullBlocks(a, prompt, 6);
        int[] ids = {a.block(0), a.block(1), a.block(2)};
        kv.free(a);
        assertThat(kv.pool().evictionOrder()).containsExactly(ids[2], ids[1], ids[0]);
    }

    @Test
    void prefixLookupStopsAtTheFirstMissAndCountersAdd() {
        KvCacheManager kv = new KvCacheManager(8, 2, HASHER, e -> { });
        int[] prompt = tokens(9, 0);
        BlockTable a = kv.newBlockTable(null);
        kv.allocateSlots(a, PrefixHit.NONE, 9);
        kv.cacheFullBlocks(a, prompt, 9);
        int[] other = prompt.clone();
        other[3] = 99; // block 1 differs, so block 2 (same tokens, other parent) misses too
        assertThat(kv.findCachedPrefix(kv.newBlockTable(null), other, 9)).isEqualTo(new PrefixHit(1, 2));
        kv.recordPrefixLookup(40, 8);
        kv.recordPrefixLookup(10, 0);
        assertThat(kv.prefixQueryTokens()).isEqualTo(50);
        assertThat(kv.prefixHitTokens()).isEqualTo(8);
    }
}
