package ai.armature.engine.grammar;

import java.util.Arrays;

/**
 * The threads of a pushdown matcher: distinct (state, stack below) pairs. A step by one byte follows every
 * thread's transition in its rule, enters called rules that can begin with the byte, and returns from rules that
 * may end (popping to the state saved below). When precomputing a state's mask the bottom is {@link Frame#OUTSIDE};
 * a thread that would pop into it sets {@link #escaped} instead: what happens next depends on the context.
 * Mutable and reused; not thread-safe.
 */
final class FrameSet {

    int n;
    int[] states = new int[4];
    Frame[] parents = new Frame[4];
    /** Some thread of this path tried to leave the examined rule after consuming input (precompute only). */
    boolean escaped;

    static FrameSet start(Grammar g) {
        FrameSet s = new FrameSet();
        s.add(g.rootStart(), null);
        return s;
    }

    void clear() {
        for (int i = 0; i < n; i++) parents[i] = null;
        n = 0;
        escaped = false;
    }

    boolean isEmpty() {
        return n == 0;
    }

    void add(int state, Frame parent) {
        for (int i = 0; i < n; i++) {
            if (states[i] == state && (parents[i] == parent || (parent != null && parent.equals(parents[i])))) return;
        }
        if (n == states.length) {
            states = Arrays.copyOf(states, n * 2);
            parents = Arrays.copyOf(parents, n * 2);
        }
        states[n] = state;
        parents[n] = parent;
        n++;
    }

    void copyFrom(FrameSet o) {
        clear();
        for (int i = 0; i < o.n; i++) add(o.states[i], o.parents[i]);
        escaped = o.escaped;
    }

    /**
     * Replaces this set by the threads of {@code in} after byte {@code b}. {@code countEscapes}: whether a pop
     * into {@link Frame#OUTSIDE} marks the result escaped (false for the first byte of a precomputed state: the
     * runtime matcher covers an immediate return by also holding the state below).
     */
    void step(FrameSet in, Grammar g, int b, boolean countEscapes) {
        clear();
        escaped = in.escaped;
        int cls = g.classOf[b];
        for (int i = 0; i < in.n; i++) advance(g, in.states[i], in.parents[i], cls, countEscapes);
    }

    private void advance(Grammar g, int state, Frame parent, int cls, boolean countEscapes) {
        int t = g.next[state * g.numClasses + cls];
        if (t >= 0) add(t, parent);
        for (int i = g.callOffset[state], end = g.callOffset[state + 1]; i < end; i++) {
            int rule = g.callRule[i];
            if (g.startsWith[rule * g.numClasses + cls]) {
                advance(g, g.ruleStart[rule], new Frame(g.callTarget[i], parent), cls, countEscapes);
            }
        }
        if (g.accepting[state] && parent != null) {
            if (parent == Frame.OUTSIDE) {
                if (countEscapes) escaped = true;
            } else {
                advance(g, parent.state, parent.parent, cls, countEscapes);
            }
        }
    }

    /** Whether some thread can end the whole grammar here (every frame of its stack may end). */
    boolean complete(Grammar g) {
        for (int i = 0; i < n; i++) {
            if (!g.accepting[states[i]]) continue;
            Frame f = parents[i];
            while (f != null && g.accepting[f.state]) f = f.parent;
            if (f == null) return true;
        }
        return false;
    }
}
