package ai.armature.router.policy;

/**
 * LMetric (arXiv 2603.15202): score = new prefill tokens if routed there (the prompt minus the worker's cached
 * prefix, from the KV indexer) x the worker's running batch (its requests in flight); the lowest wins. The product
 * needs no weight: scaling either factor does not change the order. Its degenerate case is a worker with no
 * requests, which scores 0 whatever its cache: among such ties the fewer new prefill tokens win, then the lower
 * token load, then chance.
 */
public final class LMetricPolicy implements RoutingPolicy {

    @Override
    public String name() {
        return "lmetric";
    }

    @Override
    public boolean usesIndexer() {
        return true;
    }

    @Override
    public int select(Candidates c) {
        double[] score = c.scores();
        double scale = c.promptLength() + 1.0;
        for (int i = 0; i < c.size(); i++) {
            // The product, then the new prefill tokens as a fraction below 1 to break ties among equal products.
            score[i] = (double) c.uncachedTokens(i) * c.activeRequests(i) + c.uncachedTokens(i) / scale;
        }
        return c.argmin(score);
    }
}
