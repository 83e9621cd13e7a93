package ai.armature.router.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The block index against a plain map of sets, through random adds, removes and prefix matches. */
class BlockIndexTest {

    /** The reference: hash -> holders, and a prefix match that checks every worker block by block. */
    private static final class Reference {
        final Map<Long, Set<Integer>> holders = new HashMap<>();

        boolean add(long h, int w) {
            return holders.computeIfAbsent(h, k -> new HashSet<>()).add(w);
        }

        boolean remove(long h, int w) {
            Set<Integer> s = holders.get(h);
            if (s == null || !s.remove(w)) return false;
            if (s.isEmpty()) holders.remove(h);
            return true;
        }

        int depth(long[] chain, int n, int w) {
            int d = 0;
            while (d < n && holders.getOrDefault(chain[d], Set.of()).contains(w)) d++;
            return d;
        }
    }

    private static void checkRandomWorkload(int workers, int hashes, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        BlockIndex index = new BlockIndex(16);
        for (int w = 0; w < workers; w++) index.ensureSlot(w);
        Reference ref = new Reference();
        // Hash 0 is a legal hash too (kept outside the table).
        long[] pool = new long[hashes];
        for (int i = 0; i < hashes; i++) pool[i] = i == 0 ? 0 : rnd.nextLong();
        int[] depth = new int[workers];
        BlockIndex.Touched touched = new BlockIndex.Touched();
        for (int step = 0; step < 40_000; step++) {
            int op = rnd.nextInt(10);
            // Chains are prefixes of a few long "prompts" so holders nest like real caches, plus noise.
            long h = pool[rnd.nextInt(hashes)];
            int w = rnd.nextInt(workers);
            // Add-heavy, then remove-heavy phases, so shared sets grow into bitsets and shrink back into lists.
            int adds = (step / 5_000) % 2 == 0 ? 6 : 2;
            if (op < adds) {
                assertThat(index.add(h, w)).isEqualTo(ref.add(h, w));
            } else if (op < 8) {
                assertThat(index.remove(h, w)).isEqualTo(ref.remove(h, w));
            } else {
                int n = 1 + rnd.nextInt(12);
                int start = rnd.nextInt(hashes - n);
                long[] chain = new long[n];
                System.arraycopy(pool, start, chain, 0, n);
                // A chain hashed on demand: only its first hash unless some worker holds the first block.
                int[] asked = {0};
                index.match(end -> {
                    asked[0] = Math.max(asked[0], end);
                    return chain;
                }, n, depth, touched);
                int deepest = 0;
                for (int v = 0; v < workers; v++) {
                    assertThat(depth[v]).as("worker %d depth on chain at %d", v, start).isEqualTo(ref.depth(chain, n, v));
                    deepest = Math.max(deepest, depth[v]);
                }
                assertThat(asked[0]).as("levels hashed for a chain whose deepest holder has %d", deepest)
                        .isEqualTo(deepest == 0 ? 1 : n);
                for (int i = 0; i < touched.size; i++) depth[touched.slots[i]] = 0;
                touched.clear();
                for (int v : depth) assertThat(v).isZero();
            }
            assertThat(index.holders(h)).isEqualTo(ref.holders.getOrDefault(h, Set.of()).size());
            if (step % 1_000 == 0) index.checkSharedSets();
        }
        index.checkSharedSets();
        assertThat(index.blocks()).isEqualTo(ref.holders.size());
        List<String> got = new ArrayList<>();
        for (long[] e : index.entries()) got.add(e[0] + "/" + e[1]);
        List<String> want = new ArrayList<>();
        ref.holders.forEach((k, s) -> s.forEach(v -> want.add(k + "/" + v)));
        assertThat(got).containsExactlyInAnyOrderElementsOf(want);
    }

    @Test
    void fewWorkersUseInlineSlotsAndLists() {
        checkRandomWorkload(3, 200, 1);
    }

    @Test
    void manyWorkersTurnSharedSetsIntoBitsetsAndBack() {
        // 150 workers: 3 words per bitset, so sets of more than 7 become bitsets; 40 hashes make sets large.
        checkRandomWorkload(150, 40, 2);
    }

    /**
     * Caches as they really fill: workers store prefixes of a few documents and evict from the tail, so consecutive
     * blocks often have the same holders (one shared set, which the match skips); every match against the reference.
     */
    private static void checkNestedChains(int workers, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        BlockIndex index = new BlockIndex(16);
        for (int w = 0; w < workers; w++) index.ensureSlot(w);
        Reference ref = new Reference();
        int docs = 4, len = 24;
        long[][] chains = new long[docs][len];
        for (long[] c : chains) for (int b = 0; b < len; b++) c[b] = rnd.nextLong();
        int[][] held = new int[workers][docs]; // blocks of each document each worker holds (a prefix)
        int[] depth = new int[workers];
        BlockIndex.Touched touched = new BlockIndex.Touched();
        for (int step = 0; step < 20_000; step++) {
            int w = rnd.nextInt(workers), d = rnd.nextInt(docs);
            int op = rnd.nextInt(10);
            if (op < 5) {
                int to = Math.min(len, held[w][d] + 1 + rnd.nextInt(len));
                for (int b = held[w][d]; b < to; b++) assertThat(index.add(chains[d][b], w)).isEqualTo(ref.add(chains[d][b], w));
                held[w][d] = to;
            } else if (op < 8) {
                int to = rnd.nextInt(held[w][d] + 1);
                for (int b = held[w][d] - 1; b >= to; b--) assertThat(index.remove(chains[d][b], w)).isEqualTo(ref.remove(chains[d][b], w));
                held[w][d] = to;
            } else if (op < 9) {
                // A hole: one block in the middle goes (as when another tier takes it), the rest stays.
                if (held[w][d] > 2) {
                    int b = 1 + rnd.nextInt(held[w][d] - 2);
                    assertThat(index.remove(chains[d][b], w)).isEqualTo(ref.remove(chains[d][b], w));
                    held[w][d] = b; // later adds resume from the hole, re-adding the block
                    for (int k = b + 1; k < len; k++) {
                        if (ref.holders.getOrDefault(chains[d][k], Set.of()).contains(w)) {
                            assertThat(index.remove(chains[d][k], w)).isTrue();
                            ref.remove(chains[d][k], w);
                        }
                    }
                }
            } else {
                long[] chain = chains[d];
                int n = 1 + rnd.nextInt(len);
                index.match(chain, n, depth, touched);
                for (int v = 0; v < workers; v++) {
                    assertThat(depth[v]).as("worker %d depth on document %d, step %d", v, d, step).isEqualTo(ref.depth(chain, n, v));
                }
                for (int i = 0; i < touched.size; i++) depth[touched.slots[i]] = 0;
                touched.clear();
            }
            if (step % 500 == 0) index.checkSharedSets();
        }
        index.checkSharedSets();
        List<String> got = new ArrayList<>();
        for (long[] e : index.entries()) got.add(e[0] + "/" + e[1]);
        List<String> want = new ArrayList<>();
        ref.holders.forEach((k, s) -> s.forEach(v -> want.add(k + "/" + v)));
        assertThat(got).containsExactlyInAnyOrderElementsOf(want);
    }

    /** A match of one index extended through a second (pending blocks), against the union of the two references. */
    private static void checkExtendedMatches(int workers, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int len = 16;
        long[][] chains = new long[3][len];
        for (long[] c : chains) for (int b = 0; b < len; b++) c[b] = rnd.nextLong();
        int[] depth = new int[workers];
        BlockIndex.Touched touched = new BlockIndex.Touched(), extended = new BlockIndex.Touched();
        for (int round = 0; round < 300; round++) {
            BlockIndex main = new BlockIndex(16), pending = new BlockIndex(16);
            for (int w = 0; w < workers; w++) {
                main.ensureSlot(w);
                pending.ensureSlot(w);
            }
            Reference inMain = new Reference(), inPending = new Reference();
            for (int k = 0, ops = rnd.nextInt(4 * workers); k < ops; k++) {
                int w = rnd.nextInt(workers);
                long[] c = chains[rnd.nextInt(chains.length)];
                // Held prefixes in main, pending runs after them (or anywhere: holes, alternation), some in both.
                int from = rnd.nextInt(len), to = from + rnd.nextInt(len - from + 1);
                boolean toMain = rnd.nextInt(3) == 0;
                for (int b = from; b < to; b++) {
                    if (toMain) {
                        main.add(c[b], w);
                        inMain.add(c[b], w);
                    } else {
                        pending.add(c[b], w);
                        inPending.add(c[b], w);
                    }
                }
            }
            long[] chain = chains[rnd.nextInt(chains.length)];
            int n = 1 + rnd.nextInt(len);
            int deepest = main.match(chain, n, depth, touched);
            int[] before = depth.clone();
            int now = pending.extend(main, end -> chain, n, depth, touched, extended, deepest);
            int want = 0;
            Set<Integer> touchedSet = new HashSet<>();
            for (int i = 0; i < touched.size; i++) assertThat(touchedSet.add(touched.slots[i])).as("touched once").isTrue();
            for (int w = 0; w < workers; w++) {
                int d = 0;
                while (d < n && (inMain.holders.getOrDefault(chain[d], Set.of()).contains(w)
                        || inPending.holders.getOrDefault(chain[d], Set.of()).contains(w))) d++;
                assertThat(depth[w]).as("round %d worker %d", round, w).isEqualTo(d);
                assertThat(touchedSet.contains(w)).isEqualTo(d > 0);
                want = Math.max(want, d);
            }
            assertThat(now).isEqualTo(want);
            for (int i = 0; i < extended.size; i += 2) {
                assertThat(extended.slots[i + 1]).as("depth before the extension").isEqualTo(before[extended.slots[i]]);
                assertThat(depth[extended.slots[i]]).isGreaterThan(before[extended.slots[i]]);
            }
            for (int i = 0; i < touched.size; i++) depth[touched.slots[i]] = 0;
            touched.clear();
            extended.clear();
        }
    }

    @Test
    void aMatchExtendedThroughPendingBlocksCountsBlocksHeldInEitherIndex() {
        checkExtendedMatches(5, 6);
        checkExtendedMatches(150, 7);
    }

    @Test
    void nestedChainsWithFewWorkersShareListSets() {
        checkNestedChains(6, 3);
    }

    @Test
    void nestedChainsWithManyWorkersShareBitsets() {
        // 200 workers: 4 words per bitset, sets of more than 9 become bitsets.
        checkNestedChains(200, 4);
    }

    @Test
    void blocksWithTheSameHoldersShareOneSet() {
        BlockIndex index = new BlockIndex();
        int workers = 100;
        for (int w = 0; w < workers; w++) index.ensureSlot(w);
        long[] chain = new long[32];
        for (int b = 0; b < chain.length; b++) chain[b] = 1_000 + b;
        for (int w = 0; w < workers; w++) for (long h : chain) index.add(h, w);
        assertThat(index.checkSharedSets()).as("one set for the 32 blocks 100 workers hold").isEqualTo(1);
        // Workers 0..49 evict the second half: two sets (all 100 workers; workers 50..99).
        for (int w = 0; w < 50; w++) for (int b = 16; b < 32; b++) index.remove(chain[b], w);
        assertThat(index.checkSharedSets()).isEqualTo(2);
        int[] depth = new int[workers];
        BlockIndex.Touched touched = new BlockIndex.Touched();
        index.match(chain, 32, depth, touched);
        for (int w = 0; w < workers; w++) assertThat(depth[w]).isEqualTo(w < 50 ? 16 : 32);
        // The last holders leave one by one: the sets shrink, shared, down to one worker held inline.
        for (int w = 50; w < 99; w++) for (long h : chain) index.remove(h, w);
        assertThat(index.checkSharedSets()).as("blocks 0..15: workers 0..49 and 99; 16..31: worker 99 alone").isEqualTo(1);
        assertThat(index.holders(chain[31])).isEqualTo(1);
        assertThat(index.holds(chain[31], 99)).isTrue();
    }

    @Test
    void aMatchFollowsEachWorkerDownTheChainUntilItDropsOut() {
        BlockIndex index = new BlockIndex();
        int workers = 200;
        for (int w = 0; w < workers; w++) index.ensureSlot(w);
        long[] chain = {11, 12, 13, 14, 15};
        // Every worker holds block 0 (a bitset), half hold block 1 (a bitset), workers 0..4 hold block 2 (a list),
        // worker 4 holds blocks 3 and 4, worker 7 holds block 3 without blocks 1 and 2 (holes: it stops at 1).
        for (int w = 0; w < workers; w++) index.add(11, w);
        for (int w = 0; w < workers; w += 2) index.add(12, w);
        for (int w = 0; w < 5; w++) index.add(13, w);
        index.add(14, 4);
        index.add(14, 7);
        index.add(15, 4);
        int[] depth = new int[workers];
        BlockIndex.Touched touched = new BlockIndex.Touched();
        index.match(chain, 5, depth, touched);
        assertThat(touched.size).isEqualTo(workers);
        assertThat(depth[1]).isEqualTo(1);
        assertThat(depth[0]).isEqualTo(3);
        assertThat(depth[2]).isEqualTo(3);
        assertThat(depth[3]).isEqualTo(1);
        assertThat(depth[4]).isEqualTo(5);
        assertThat(depth[6]).isEqualTo(2);
        assertThat(depth[7]).isEqualTo(1);
        assertThat(depth[199]).isEqualTo(1);
        assertThat(depth[198]).isEqualTo(2);
    }

    @Test
    void growingTheTableKeepsEveryEntry() {
        // 200k blocks: the table grows from 16 slots past 2 MiB, onto mapped (huge-page) memory where the system has it.
        BlockIndex index = new BlockIndex(16);
        index.ensureSlot(2);
        SplittableRandom rnd = new SplittableRandom(5);
        long[] keys = new long[200_000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = rnd.nextLong();
            index.add(keys[i], i % 2);
            if (i % 3 == 0) index.add(keys[i], 2); // some blocks with a shared set of holders
        }
        assertThat(index.footprintBytes()).isGreaterThan(2L << 20);
        for (int i = 0; i < keys.length; i++) {
            assertThat(index.holds(keys[i], i % 2)).isTrue();
            assertThat(index.holds(keys[i], 2)).isEqualTo(i % 3 == 0);
        }
        for (int i = 0; i < keys.length; i += 2) assertThat(index.remove(keys[i], 0)).isTrue();
        for (int i = 0; i < keys.length; i++) {
            assertThat(index.holds(keys[i], i % 2)).isEqualTo(i % 2 == 1);
            assertThat(index.holders(keys[i])).isEqualTo((i % 2 == 1 ? 1 : 0) + (i % 3 == 0 ? 1 : 0));
        }
        assertThat(index.blocks()).isEqualTo((int) java.util.stream.IntStream.range(0, keys.length).filter(i -> i % 2 == 1 || i % 3 == 0).count());
        index.checkSharedSets();
    }
}
