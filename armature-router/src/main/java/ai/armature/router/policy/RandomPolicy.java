package ai.armature.router.policy;

/** Each request to a uniformly random candidate (seeded by the router). Ignores cache and load. */
public final class RandomPolicy implements RoutingPolicy {

    @Override
    public String name() {
        return "random";
    }

    @Override
    public boolean usesIndexer() {
        return false;
    }

    @Override
    public int select(Candidates c) {
        return c.random().nextInt(c.size());
    }
}
