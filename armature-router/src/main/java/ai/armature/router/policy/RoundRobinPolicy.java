package ai.armature.router.policy;

/** Each request to the next candidate in turn (the candidates in the order workers joined). Ignores cache and load. */
public final class RoundRobinPolicy implements RoutingPolicy {

    private long next;

    @Override
    public String name() {
        return "round-robin";
    }

    @Override
    public boolean usesIndexer() {
        return false;
    }

    @Override
    public int select(Candidates c) {
        return (int) Long.remainderUnsigned(next++, c.size());
    }
}
