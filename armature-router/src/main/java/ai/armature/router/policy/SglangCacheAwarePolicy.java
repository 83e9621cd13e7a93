package ai.armature.router.policy;

import ai.armature.router.index.KvIndexer;

/**
 * SGLang's cache-aware router, for comparison in simulation: an approximate prefix tree per worker built from the
 * router's own decisions (here: an approximate-mode {@link KvIndexer} of its own, block-granular where SGLang's tree
 * is character-granular; it never sees KV events), switched off when load is imbalanced.
 * <ul>
 *   <li>Imbalanced when {@code max - min > balanceAbsThreshold} and {@code max > min * balanceRelThreshold} over the
 *       candidates' requests in flight: the least-loaded candidate wins.</li>
 *   <li>Otherwise the candidate with the longest matched prefix wins if matched / prompt tokens exceeds
 *       {@code cacheThreshold}; else the candidate whose tree is smallest (most free cache, presumably).</li>
 *   <li>Either way the prompt is inserted into the chosen worker's tree; trees are trimmed (least recently used
 *       first) to {@code maxTreeTokens}.</li>
 * </ul>
 * Defaults are those of SGLang's router command line ({@code sglang_router} router_args: cache_threshold 0.3,
 * balance_abs_threshold 64, balance_rel_threshold 1.5, max_tree_size 2^26), not its library's {@code Default}
 * (0.5 / 32 / 1.1 / 10000), since the command line is what people run. Ties go to the lower token load, then chance.
 */
public final class SglangCacheAwarePolicy implements RoutingPolicy {

    /** The policy's knobs. */
    public record Settings(double cacheThreshold, int balanceAbsThreshold, double balanceRelThreshold, long maxTreeTokens) {
        public static final Settings DEFAULTS = new Settings(0.3, 64, 1.5, 1L << 26);
    }

    private final Settings settings;
    /** Block hashes live forever unless trimmed by size, as in SGLang's tree (its eviction is by size only). */
    private final KvIndexer tree = new KvIndexer(Long.MAX_VALUE / 4);

    public SglangCacheAwarePolicy(Settings settings) {
        this.settings = settings;
    }

    @Override
    public String name() {
        return "sglang-cache-aware";
    }

    @Override
    public boolean usesIndexer() {
        return false;
    }

    @Override
    public void workerAdded(String workerId, int blockSize, String namespace) {
        tree.addWorker(workerId, blockSize, namespace, false, Math.max(1, settings.maxTreeTokens() / blockSize));
    }

    @Override
    public void workerRemoved(String workerId) {
        tree.removeWorker(workerId);
    }

    @Override
    public int select(Candidates c) {
        tree.match(c.promptTokens(), c.promptLength(), c.cacheSalt());
        int n = c.size();
        int max = Integer.MIN_VALUE, min = Integer.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, c.activeRequests(i));
            min = Math.min(min, c.activeRequests(i));
        }
        double[] score = c.scores();
        boolean imbalanced = max - min > settings.balanceAbsThreshold() && max > min * settings.balanceRelThreshold();
        if (imbalanced) {
            for (int i = 0; i < n; i++) score[i] = c.activeRequests(i);
            return c.argmin(score);
        }
        int bestMatch = 0;
        for (int i = 0; i < n; i++) {
            int slot = tree.slotOf(c.id(i));
            int matched = slot < 0 ? 0 : tree.overlapTokens(slot);
            score[i] = -matched;
            bestMatch = Math.max(bestMatch, matched);
        }
        if (c.promptLength() > 0 && (double) bestMatch / c.promptLength() > settings.cacheThreshold()) {
            return c.argmin(score);
        }
        for (int i = 0; i < n; i++) score[i] = tree.tokensHeld(c.id(i));
        return c.argmin(score);
    }

    @Override
    public void routed(Candidates c, int chosen, long now) {
        tree.recordRouted(c.id(chosen), now);
    }
}
