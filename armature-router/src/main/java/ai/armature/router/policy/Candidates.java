package ai.armature.router.policy;

import java.util.Arrays;
import java.util.random.RandomGenerator;

import ai.armature.router.index.KvIndexer;
import ai.armature.router.load.LoadTracker;

/**
 * The workers a request may go to, with what a policy needs to choose among them: for candidate {@code i}, its id,
 * indexer slot, predicted cached prefix of the prompt, and load (requests in flight, prompt tokens still to
 * prefill, context tokens in flight). A view: it reads the router's index and load in place, so a decision over a
 * thousand workers copies nothing per worker. Filled by the router for each decision and reused; valid only during
 * {@link RoutingPolicy#select} and {@link RoutingPolicy#routed}.
 */
public final class Candidates {

    private int[] slots = new int[16];
    private boolean shared;
    private int size;
    private KvIndexer indexer;
    private boolean matched;
    private LoadTracker load;
    private String[] idsBySlot;
    private int[] promptTokens;
    private int promptLength;
    private String cacheSalt;
    private RandomGenerator random;
    private double[] scores = new double[16];
    private LoadTermOrder order;

    /**
     * Starts a decision for a prompt over the workers in {@code slots[0, size)} (the array is not copied unless a
     * candidate is removed). {@code matched}: the index holds this prompt's match results.
     */
    public void reset(int[] tokens, int length, String salt, RandomGenerator random, int[] slots, int size, KvIndexer indexer,
                      boolean matched, LoadTracker load, String[] idsBySlot) {
        reset(tokens, length, salt, random, slots, size, indexer, matched, load, idsBySlot, null);
    }

    /**
     * As {@link #reset(int[], int, String, RandomGenerator, int[], int, KvIndexer, boolean, LoadTracker, String[])},
     * where {@code order} (or null) holds exactly these candidates, in this order, ordered by their load term.
     */
    public void reset(int[] tokens, int length, String salt, RandomGenerator random, int[] slots, int size, KvIndexer indexer,
                      boolean matched, LoadTracker load, String[] idsBySlot, LoadTermOrder order) {
        this.order = order;
        this.promptTokens = tokens;
        this.promptLength = length;
        this.cacheSalt = salt;
        this.random = random;
        this.slots = slots;
        this.size = size;
        this.shared = true;
        this.indexer = indexer;
        this.matched = matched;
        this.load = load;
        this.idsBySlot = idsBySlot;
    }

    /** Drops candidate {@code i} (e.g. a worker found unhealthy); the others keep their order. */
    public void remove(int i) {
        order = null;
        if (shared) {
            slots = Arrays.copyOf(slots, size);
            shared = false;
        }
        System.arraycopy(slots, i + 1, slots, i, size - i - 1);
        size--;
    }

    public int size() {
        return size;
    }

    public String id(int i) {
        return idsBySlot[slots[i]];
    }

    public int slot(int i) {
        return slots[i];
    }

    /** Prompt tokens predicted cached on candidate i (0 when the policy does not use the indexer). */
    public int cachedTokens(int i) {
        return matched ? indexer.overlapTokens(slots[i]) : 0;
    }

    public int activeRequests(int i) {
        return load.activeRequests(slots[i]);
    }

    public long prefillTokens(int i) {
        return load.prefillTokens(slots[i]);
    }

    public long contextTokens(int i) {
        return load.contextTokens(slots[i]);
    }

    /** Prompt tokens candidate i would have to compute. */
    public int uncachedTokens(int i) {
        return promptLength - cachedTokens(i);
    }

    public int promptLength() {
        return promptLength;
    }

    public int[] promptTokens() {
        return promptTokens;
    }

    public String cacheSalt() {
        return cacheSalt;
    }

    public RandomGenerator random() {
        return random;
    }

    /** Total token load of candidate i (prefill still to do plus context in flight): the tie-breaker. */
    public long tokenLoad(int i) {
        return prefillTokens(i) + contextTokens(i);
    }

    /**
     * The candidate with the lowest {@code score[i]}; among equal scores the one with the lowest token load, then a
     * uniformly random one (one draw, whatever the number of ties: an idle fleet ties everywhere).
     */
    public int argmin(double[] score) {
        int best = 0, ties = 1;
        double bestScore = score[0];
        long bestLoad = -1;
        for (int i = 1; i < size; i++) {
            double s = score[i];
            if (s > bestScore) continue;
            if (s < bestScore) {
                best = i;
                bestScore = s;
                bestLoad = -1;
                ties = 1;
                continue;
            }
            if (bestLoad < 0) bestLoad = tokenLoad(best);
            long l = tokenLoad(i);
            if (l < bestLoad) {
                best = i;
                bestLoad = l;
                ties = 1;
            } else if (l == bestLoad) {
                ties++;
            }
        }
        if (ties == 1) return best;
        // Ties share the best score and load: take the k-th of them, k uniform.
        int k = random.nextInt(ties);
        for (int i = best; i < size; i++) {
            if (score[i] == bestScore && tokenLoad(i) == bestLoad && k-- == 0) return i;
        }
        return best;
    }

    /** The candidates ordered by their load term (see {@link LoadTermOrder}), or null. */
    public LoadTermOrder order() {
        return order;
    }

    /** How many workers the prompt's index match touched (hold its first block), candidates or not (0 if unmatched). */
    public int touchedCount() {
        return matched ? indexer.touchedCount() : 0;
    }

    /** The slot of the j-th worker the index match touched. */
    public int touchedSlot(int j) {
        return indexer.touchedSlot(j);
    }

    /** Prompt tokens predicted cached on the worker in {@code slot}. */
    public int cachedTokensOfSlot(int slot) {
        return matched ? indexer.overlapTokens(slot) : 0;
    }

    public long prefillTokensOfSlot(int slot) {
        return load.prefillTokens(slot);
    }

    public long contextTokensOfSlot(int slot) {
        return load.contextTokens(slot);
    }

    /** A per-decision scratch array of at least 16 ints. */
    public int[] positions() {
        return positions;
    }

    /** The scratch array of {@link #positions()}, grown to at least {@code n} with its contents kept. */
    public int[] positions(int n) {
        if (positions.length < n) positions = Arrays.copyOf(positions, Math.max(n, positions.length * 2));
        return positions;
    }

    private int[] positions = new int[16];

    /** A per-decision scratch array of at least {@link #size()} longs. */
    public long[] loads() {
        if (loads.length < size) loads = new long[Math.max(size, loads.length * 2)];
        return loads;
    }

    private long[] loads = new long[16];

    /** A per-decision scratch array of at least {@link #size()} doubles. */
    public double[] scores() {
        if (scores.length < size) scores = new double[Math.max(size, scores.length * 2)];
        return scores;
    }
}
