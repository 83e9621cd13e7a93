package ai.armature.router.policy;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The workers a request may go to, with what a policy needs to choose among them: for candidate {@code i}, its id,
 * indexer slot, predicted cached prefix of the prompt, and load (requests in flight, prompt tokens still to
 * prefill, context tokens in flight). Filled by the router for each decision and reused (no allocation per
 * decision); valid only during {@link RoutingPolicy#select} and {@link RoutingPolicy#routed}.
 */
public final class Candidates {

    int size;
    String[] ids = new String[16];
    int[] slots = new int[16];
    int[] cachedTokens = new int[16];
    int[] activeRequests = new int[16];
    long[] prefillTokens = new long[16];
    long[] contextTokens = new long[16];
    int[] promptTokens;
    int promptLength;
    String cacheSalt;
    RandomGenerator random;

    /** Starts a decision for a prompt. */
    public void reset(int[] tokens, int length, String salt, RandomGenerator random) {
        this.size = 0;
        this.promptTokens = tokens;
        this.promptLength = length;
        this.cacheSalt = salt;
        this.random = random;
    }

    /** Adds a candidate. */
    public void add(String id, int slot, int cached, int active, long prefill, long context) {
        if (size == ids.length) grow();
        ids[size] = id;
        slots[size] = slot;
        cachedTokens[size] = cached;
        activeRequests[size] = active;
        prefillTokens[size] = prefill;
        contextTokens[size] = context;
        size++;
    }

    public int size() {
        return size;
    }

    public String id(int i) {
        return ids[i];
    }

    public int slot(int i) {
        return slots[i];
    }

    /** Prompt tokens predicted cached on candidate i (0 when the policy does not use the indexer). */
    public int cachedTokens(int i) {
        return cachedTokens[i];
    }

    public int activeRequests(int i) {
        return activeRequests[i];
    }

    public long prefillTokens(int i) {
        return prefillTokens[i];
    }

    public long contextTokens(int i) {
        return contextTokens[i];
    }

    /** Prompt tokens candidate i would have to compute. */
    public int uncachedTokens(int i) {
        return promptLength - cachedTokens[i];
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
        return prefillTokens[i] + contextTokens[i];
    }

    /**
     * The candidate with the lowest {@code score[i]}; among equal scores the one with the lowest token load, then a
     * uniformly random one.
     */
    public int argmin(double[] score) {
        int best = -1, ties = 0;
        for (int i = 0; i < size; i++) {
            if (best < 0 || score[i] < score[best] || (score[i] == score[best] && tokenLoad(i) < tokenLoad(best))) {
                best = i;
                ties = 1;
            } else if (score[i] == score[best] && tokenLoad(i) == tokenLoad(best) && random.nextInt(++ties) == 0) {
                best = i;
            }
        }
        return best;
    }

    /** A per-decision scratch array of at least {@link #size()} doubles. */
    public double[] scores() {
        if (scores.length < size) scores = new double[Math.max(size, scores.length * 2)];
        return scores;
    }

    private double[] scores = new double[16];

    private void grow() {
        int n = ids.length * 2;
        ids = Arrays.copyOf(ids, n);
        slots = Arrays.copyOf(slots, n);
        cachedTokens = Arrays.copyOf(cachedTokens, n);
        activeRequests = Arrays.copyOf(activeRequests, n);
        prefillTokens = Arrays.copyOf(prefillTokens, n);
        contextTokens = Arrays.copyOf(contextTokens, n);
    }
}
