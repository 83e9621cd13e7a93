package ai.armature.router.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.router.index.KvIndexer;
import ai.armature.router.load.LoadTracker;

/**
 * The kv policy's ordered decision ({@link KvPolicy#cheapestOrdered}, over a {@link LoadTermOrder} kept current by
 * the load tracker) against the reference, a scan of every candidate ({@link KvPolicy#cheapest}): on random fleets
 * with many ties (idle workers, equal loads, equal cached prefixes), random load changes between decisions, workers
 * leaving and joining, two block sizes, candidates in an order unrelated to their slots, and touched workers that are
 * not candidates, both must pick the same worker and leave the random generator in the same state.
 */
class KvPolicyOrderedTest {

    private static final String MODEL = "m";
    private static final BlockHasher HASHER = new BlockHasher(MODEL);
    private static final int[][] DOCS = new int[3][];

    static {
        for (int d = 0; d < DOCS.length; d++) {
            DOCS[d] = new int[64];
            for (int i = 0; i < 64; i++) DOCS[d][i] = 1000 * (d + 1) + i;
        }
    }

    private static List<KvEvent> stored(int[] tokens, int blockSize, long firstId) {
        long[] h = HASHER.hashFullBlocks(null, tokens, tokens.length, blockSize);
        List<KvEvent> out = new ArrayList<>();
        long parent = HASHER.rootHash(null);
        for (int i = 0; i < h.length; i++) {
            out.add(new KvEvent.BlockStored(firstId + i, h[i], parent, blockSize, Arrays.copyOfRange(tokens, i * blockSize, (i + 1) * blockSize)));
            parent = h[i];
        }
        return out;
    }

    /** A fleet: indexer, load, and the candidates (a subset of the slots, in a shuffled order) with their order. */
    private static final class Fleet {
        final SplittableRandom rnd;
        final KvIndexer indexer = new KvIndexer(120_000_000_000L);
        final LoadTracker load = new LoadTracker();
        final LoadTermOrder order;
        final List<Integer> slots = new ArrayList<>();
        int[] candidates = new int[0];
        String[] ids = new String[256];
        int nextWorker, nextRequest;
        final List<String[]> requests = new ArrayList<>(); // {requestId, prefilling?}

        Fleet(long seed, Cost cost) {
            rnd = new SplittableRandom(seed);
            order = new LoadTermOrder(cost);
        }

        void addWorker() {
            String id = "w" + nextWorker++;
            int blockSize = rnd.nextInt(4) == 0 ? 2 : 4;
            int slot = indexer.addWorker(id, blockSize, MODEL, true, 1 << 20);
            load.addWorker(slot, blockSize);
            ids[slot] = id;
            slots.add(slot);
            if (rnd.nextInt(3) > 0) {
                int[] doc = DOCS[rnd.nextInt(DOCS.length)];
                int len = rnd.nextInt(doc.length + 1);
                for (KvEvent e : stored(Arrays.copyOf(doc, len), blockSize, 1)) indexer.ingest(id, e);
            }
        }

        void removeWorker() {
            int slot = slots.remove(rnd.nextInt(slots.size()));
            indexer.removeWorker(ids[slot]);
            reorder();
            load.removeWorker(slot);
        }

        /** Candidates: most slots, shuffled (the rest are touched by matches but are not candidates). */
        void reorder() {
            List<Integer> c = new ArrayList<>();
            for (int s : slots) if (rnd.nextInt(8) > 0 || slots.size() == 1) c.add(s);
            if (c.isEmpty()) c.add(slots.getFirst());
            for (int i = c.size() - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                Integer t = c.get(i);
                c.set(i, c.get(j));
                c.set(j, t);
            }
            candidates = c.stream().mapToInt(Integer::intValue).toArray();
            load.keepOrdered(order, candidates, candidates.length);
        }

        /** One random load change: a routed request (small sizes, so loads tie often), a first token, an end, a report. */
        void changeLoad() {
            int slot = slots.get(rnd.nextInt(slots.size()));
            switch (rnd.nextInt(5)) {
                case 0, 1 -> {
                    int prompt = 4 * rnd.nextInt(rnd.nextBoolean() ? 3 : 9);
                    String id = "r" + nextRequest++;
                    load.routed("me", id, slot, prompt, 4 * rnd.nextInt(prompt / 4 + 1));
                    requests.add(new String[] {id});
                }
                case 2 -> {
                    if (!requests.isEmpty()) load.firstToken("me", requests.get(rnd.nextInt(requests.size()))[0]);
                }
                case 3 -> {
                    if (!requests.isEmpty()) load.finished("me", requests.remove(rnd.nextInt(requests.size()))[0]);
                }
                default -> load.report(slot, new EngineStats(rnd.nextInt(3), rnd.nextInt(3), 64, rnd.nextInt(3), 0,
                        0, 0, rnd.nextInt(2) * 8, 0));
            }
        }

        int[] prompt() {
            int[] doc = DOCS[rnd.nextInt(DOCS.length)];
            int shared = rnd.nextInt(doc.length + 1);
            int[] p = Arrays.copyOf(doc, shared + 1 + rnd.nextInt(8));
            for (int i = shared; i < p.length; i++) p[i] = 900_000 + rnd.nextInt(1000);
            return p;
        }
    }

    @Test
    void theOrderedDecisionChoosesWhatTheFullScanChooses() {
        double[][] weights = {{16, 16}, {16, 4}, {1, 1}, {0.5, 0}, {3.25, 16}, {16, 0.125}, {1, 0}, {4, 2}};
        int decisions = 0, ordered = 0, withTies = 0;
        for (int seed = 0; seed < 240; seed++) {
            double[] w = weights[seed % weights.length];
            Cost cost = new Cost(w[0], w[1]);
            KvPolicy policy = new KvPolicy(cost, 0, 16);
            assertThat(policy.ordered()).isTrue();
            Fleet f = new Fleet(seed, cost);
            int workers = 1 + f.rnd.nextInt(seed % 3 == 0 ? 90 : 12);
            for (int i = 0; i < workers; i++) f.addWorker();
            f.reorder();
            Candidates withOrder = new Candidates(), scanned = new Candidates();
            for (int step = 0; step < 60; step++) {
                int changes = f.rnd.nextInt(4);
                for (int i = 0; i < changes; i++) f.changeLoad();
                if (f.rnd.nextInt(25) == 0) {
                    f.addWorker();
                    f.reorder();
                }
                if (f.rnd.nextInt(25) == 0 && f.slots.size() > 1) f.removeWorker();
                int[] p = f.prompt();
                f.indexer.match(p, p.length, null);
                long drawSeed = f.rnd.nextLong();
                SplittableRandom r1 = new SplittableRandom(drawSeed), r2 = new SplittableRandom(drawSeed);
                withOrder.reset(p, p.length, null, r1, f.candidates, f.candidates.length, f.indexer, true, f.load, f.ids, f.order);
                scanned.reset(p, p.length, null, r2, f.candidates, f.candidates.length, f.indexer, true, f.load, f.ids);
                int expected = policy.cheapest(scanned);
                int got = policy.select(withOrder);
                assertThat(got).as("seed %d step %d, %d candidates", seed, step, f.candidates.length).isEqualTo(expected);
                assertThat(r1.nextLong()).as("the same random draws, seed %d step %d", seed, step).isEqualTo(r2.nextLong());
                decisions++;
                if (f.order.exact() && f.order.size() == f.candidates.length) ordered++;
                if (ties(policy.cost(), scanned) != 0) withTies++;
                f.indexer.clearMatch();
            }
        }
        assertThat(ordered).isEqualTo(decisions);
        assertThat(withTies).as("ties are exercised").isGreaterThan(decisions / 4);
    }

    /**
     * Ties between workers with and without the prompt's prefix, interleaved in candidate order: cost = uncached +
     * context (weights 1 and 0); a worker holding the first block (4 tokens) decodes a request of 8 tokens, one
     * without it prefills a request of 4: both cost prompt + 4 with a token load of 8. Whatever the mix and the draw,
     * the ordered decision picks the scan's tie.
     */
    @Test
    void tiesBetweenWorkersWithAndWithoutTheCachedPrefixPickTheSameTie() {
        Cost cost = new Cost(1, 0);
        KvPolicy policy = new KvPolicy(cost, 0, 16);
        int mixed = 0;
        for (int seed = 0; seed < 200; seed++) {
            Fleet f = new Fleet(1000 + seed, cost);
            int n = 2 + f.rnd.nextInt(40);
            for (int i = 0; i < n; i++) {
                String id = "w" + i;
                int slot = f.indexer.addWorker(id, 4, MODEL, true, 1 << 20);
                f.load.addWorker(slot, 4);
                f.ids[slot] = id;
                f.slots.add(slot);
                switch (f.rnd.nextInt(4)) {
                    case 0 -> {
                        for (KvEvent e : stored(Arrays.copyOf(DOCS[0], 4), 4, 1)) f.indexer.ingest(id, e);
                        f.load.routed("me", "d" + i, slot, 8, 0);
                        f.load.firstToken("me", "d" + i);
                    }
                    case 1, 2 -> f.load.routed("me", "p" + i, slot, 4, 0);
                    default -> f.load.routed("me", "x" + i, slot, 4 * f.rnd.nextInt(1, 4), 0);
                }
            }
            f.reorder();
            int[] p = Arrays.copyOf(DOCS[0], 12);
            f.indexer.match(p, p.length, null);
            Candidates withOrder = new Candidates(), scanned = new Candidates();
            for (int draw = 0; draw < 20; draw++) {
                SplittableRandom r1 = new SplittableRandom(draw), r2 = new SplittableRandom(draw);
                withOrder.reset(p, p.length, null, r1, f.candidates, f.candidates.length, f.indexer, true, f.load, f.ids, f.order);
                scanned.reset(p, p.length, null, r2, f.candidates, f.candidates.length, f.indexer, true, f.load, f.ids);
                assertThat(policy.select(withOrder)).as("seed %d draw %d", seed, draw).isEqualTo(policy.cheapest(scanned));
                assertThat(r1.nextLong()).isEqualTo(r2.nextLong());
            }
            if (ties(cost, scanned) < 0) mixed++;
            f.indexer.clearMatch();
        }
        assertThat(mixed).as("fleets with mixed ties").isGreaterThan(50);
    }

    @Test
    void loadsTooLargeForExactCostsFallBackToTheScan() {
        Cost cost = new Cost(16, 16);
        KvPolicy policy = new KvPolicy(cost, 0, 16);
        Fleet f = new Fleet(7, cost);
        for (int i = 0; i < 5; i++) f.addWorker();
        f.reorder();
        f.load.routed("me", "huge", f.candidates[0], Integer.MAX_VALUE, 0);
        f.load.routed("me", "huge2", f.candidates[0], Integer.MAX_VALUE, 0);
        assertThat(f.order.exact()).isFalse();
        int[] p = f.prompt();
        f.indexer.match(p, p.length, null);
        Candidates c = new Candidates(), s = new Candidates();
        c.reset(p, p.length, null, new SplittableRandom(1), f.candidates, f.candidates.length, f.indexer, true, f.load, f.ids, f.order);
        s.reset(p, p.length, null, new SplittableRandom(1), f.candidates, f.candidates.length, f.indexer, true, f.load, f.ids);
        assertThat(policy.select(c)).isEqualTo(policy.cheapest(s)).isNotEqualTo(0);
        f.load.finished("me", "huge");
        f.load.finished("me", "huge2");
        assertThat(f.order.exact()).isTrue();
    }

    @Test
    void weightsThatAreNotExactOrSamplingOrNoCacheCreditUseTheScan() {
        assertThat(new KvPolicy(new Cost(0.1, 16), 0, 16).ordered()).isFalse();
        assertThat(new KvPolicy(new Cost(16, 1e-9), 0, 16).ordered()).isFalse();
        assertThat(new KvPolicy(new Cost(16, 16), 0.5, 16).ordered()).isFalse();
        assertThat(new KvPolicy(new Cost(0, 16), 0, 16).ordered()).isFalse();
        assertThat(new KvPolicy(new Cost(2048, 16), 0, 16).ordered()).isFalse();
        assertThat(new KvPolicy(new Cost(16, 16), 0, 16).ordered()).isTrue();
    }

    /** 0: no tie; 1: ties; -1: ties between workers with and without a cached prefix. */
    private static int ties(Cost cost, Candidates c) {
        double best = Double.MAX_VALUE;
        long bestLoad = Long.MAX_VALUE;
        int n = 0;
        boolean cached = false, uncached = false;
        for (int i = 0; i < c.size(); i++) {
            double k = cost.inTokens(c.uncachedTokens(i), c.prefillTokens(i), c.contextTokens(i));
            long l = c.tokenLoad(i);
            boolean hit = c.cachedTokens(i) > 0;
            if (k < best || (k == best && l < bestLoad)) {
                best = k;
                bestLoad = l;
                n = 1;
                cached = hit;
                uncached = !hit;
            } else if (k == best && l == bestLoad) {
                n++;
                cached |= hit;
                uncached |= !hit;
            }
        }
        return n < 2 ? 0 : cached && uncached ? -1 : 1;
    }
}
