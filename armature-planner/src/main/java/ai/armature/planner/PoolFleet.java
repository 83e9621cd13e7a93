package ai.armature.planner;

/**
 * The workers of one pool when a decision is made: serving (registered, taking requests), starting (asked for, not
 * serving yet) and draining (leaving: they no longer count). Capacity is serving plus starting.
 */
public record PoolFleet(int serving, int starting, int draining) {

    public PoolFleet {
        if (serving < 0 || starting < 0 || draining < 0) throw new IllegalArgumentException("worker counts are >= 0");
    }

    public int capacity() {
        return serving + starting;
    }
}
