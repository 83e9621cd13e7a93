package ai.armature.engine.grammar;

/**
 * One entry of a pushdown stack, shared persistently: the state to continue in ({@code state}) and the entry
 * below it ({@code parent}, null at the bottom of a real stack). A matcher thread is its top frame. Equality is
 * structural, so equal stacks built separately are recognised as one; the hash is computed once.
 */
final class Frame {

    /** Marks the bottom while precomputing a state's mask: popping into it leaves the rule being examined. */
    static final Frame OUTSIDE = new Frame(-1, null);

    final int state;
    final Frame parent;
    private final int hash;

    Frame(int state, Frame parent) {
        this.state = state;
        this.parent = parent;
        this.hash = state * 31 + (parent == null ? 0 : parent.hash * 0x9E3779B1);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Frame f) || f.hash != hash) return false;
        Frame a = this, b = f;
        while (a != null && b != null) {
            if (a == b) return true;
            if (a.state != b.state || a.hash != b.hash) return false;
            a = a.parent;
            b = b.parent;
        }
        return a == b;
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
