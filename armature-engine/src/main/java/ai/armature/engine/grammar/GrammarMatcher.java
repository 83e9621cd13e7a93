package ai.armature.engine.grammar;

import java.util.HashSet;
import java.util.Set;

/**
 * The grammar state of one sequence: the threads of the pushdown automaton after the tokens accepted so far.
 * {@link #fillMask} computes the tokens allowed next: for each thread's state (and, where that state may end its
 * rule, the states it returns to) the precomputed accepted tokens, plus each uncertain token that the thread's
 * real stack accepts; end-of-generation tokens when the grammar is complete. {@link #accept} advances by one
 * token. Not thread-safe: one per sequence, used by one thread at a time.
 */
public final class GrammarMatcher {

    private final CompiledGrammar compiled;
    private final Grammar g;
    private FrameSet current;
    private FrameSet spareA = new FrameSet(), spareB = new FrameSet();
    private final FrameSet check = new FrameSet(), check2 = new FrameSet();
    private final Set<Frame> visited = new HashSet<>();
    private int acceptedTokens;

    GrammarMatcher(CompiledGrammar compiled) {
        this.compiled = compiled;
        this.g = compiled.grammar;
        this.current = FrameSet.start(g);
    }

    /**
     * Advances by {@code tokenId}; returns false (and changes nothing) if the grammar does not allow it. An
     * end-of-generation token is allowed only when the grammar is complete, and leaves the state as it is.
     */
    public boolean accept(int tokenId) {
        TokenVocabulary v = compiled.vocab;
        if (tokenId < 0 || tokenId >= v.size) return false;
        if (v.isEndOfGeneration(tokenId)) return isComplete();
        byte[] b = v.bytes[tokenId];
        if (b == null || b.length == 0) return false;
        FrameSet a = current, out = spareA, other = spareB;
        for (int i = 0; i < b.length; i++) {
            out.step(a, g, b[i] & 0xff, false);
            if (out.isEmpty()) return false;
            FrameSet done = out;
            out = (a == current) ? other : a;
            a = done;
        }
        // a holds the result; the old current and the remaining set become the spares.
        FrameSet old = current;
        current = a;
        spareA = old;
        spareB = (out == a || out == old) ? (other == a || other == old ? new FrameSet() : other) : out;
        acceptedTokens++;
        return true;
    }

    /** Tokens accepted so far. */
    public int acceptedTokens() {
        return acceptedTokens;
    }

    /** Whether the output so far is a complete sentence of the grammar (end-of-generation is allowed). */
    public boolean isComplete() {
        return current.complete(g);
    }

    /** Whether any byte can still follow (a complete output that cannot continue should end now). */
    public boolean canContinue() {
        for (int i = 0; i < current.n; i++) {
            if (g.hasOut[current.states[i]]) return true;
            if (g.accepting[current.states[i]]) {
                for (Frame f = current.parents[i]; f != null; f = f.parent) {
                    if (g.hasOut[f.state]) return true;
                    if (!g.accepting[f.state]) break;
                }
            }
        }
        return false;
    }

    /**
     * Sets {@code mask} (at least {@link TokenVocabulary#maskWords()} longs) to the tokens allowed next; returns
     * how many tokens it allows.
     */
    public int fillMask(long[] mask) {
        TokenVocabulary v = compiled.vocab;
        int words = v.maskWords();
        java.util.Arrays.fill(mask, 0, words, 0L);
        visited.clear();
        boolean complete = false;
        for (int i = 0; i < current.n; i++) {
            int state = current.states[i];
            Frame parent = current.parents[i];
            while (true) {
                if (g.hasOut[state] && visited.add(new Frame(state, parent))) {
                    StateMask m = compiled.mask(state);
                    m.orAccepted(mask, v);
                    for (int id : m.uncertain) {
                        if ((mask[id >>> 6] & (1L << id)) == 0 && acceptsFrom(state, parent, v.bytes[id])) {
                            mask[id >>> 6] |= 1L << id;
                        }
                    }
                }
                if (!g.accepting[state]) break;
                if (parent == null) {
                    complete = true;
                    break;
                }
                state = parent.state;
                parent = parent.parent;
            }
        }
        if (complete) for (int e : v.endOfGeneration) mask[e >>> 6] |= 1L << e;
        int count = 0;
        for (int i = 0; i < words; i++) count += Long.bitCount(mask[i]);
        return count;
    }

    private boolean acceptsFrom(int state, Frame parent, byte[] bytes) {
        FrameSet a = check, b = check2;
        a.clear();
        a.add(state, parent);
        for (byte x : bytes) {
            b.step(a, g, x & 0xff, false);
            if (b.isEmpty()) return false;
            FrameSet t = a;
            a = b;
            b = t;
        }
        return true;
    }
}
