package ai.armature.router.policy;

/**
 * Each request to the candidate with the fewest requests in flight (the router's own count, corrected by load
 * reports); ties by token load, then at random. Ignores the cache.
 */
public final class LeastLoadedPolicy implements RoutingPolicy {

    @Override
    public String name() {
        return "least-loaded";
    }

    @Override
    public boolean usesIndexer() {
        return false;
    }

    @Override
    public int select(Candidates c) {
        double[] load = c.scores();
        for (int i = 0; i < c.size(); i++) load[i] = c.activeRequests(i);
        return c.argmin(load);
    }
}
