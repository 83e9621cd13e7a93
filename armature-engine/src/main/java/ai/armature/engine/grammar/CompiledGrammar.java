package ai.armature.engine.grammar;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A grammar bound to a vocabulary: the grammar's automaton plus, for each of its states, the {@link StateMask}
 * of which tokens it allows. Masks are computed by walking the sorted vocabulary from the state (sharing the
 * work of common prefixes, skipping every token under a rejected prefix); {@link #precompute()} fills them all
 * at compile time, and any still missing is computed on first use. Thread-safe; shared by every sequence that
 * uses the same constraint.
 */
public final class CompiledGrammar {

    final Grammar grammar;
    final TokenVocabulary vocab;
    private final AtomicReferenceArray<StateMask> masks;

    public CompiledGrammar(Grammar grammar, TokenVocabulary vocab) {
        this.grammar = grammar;
        this.vocab = vocab;
        this.masks = new AtomicReferenceArray<>(grammar.numStates);
    }

    public Grammar grammar() {
        return grammar;
    }

    public TokenVocabulary vocabulary() {
        return vocab;
    }

    /** A matcher at the start of the grammar, for one sequence. */
    public GrammarMatcher matcher() {
        return new GrammarMatcher(this);
    }

    /** Computes every state's mask now (compile time), so none is computed while decoding. */
    public void precompute() {
        MaskWalker walker = new MaskWalker();
        for (int s = 0; s < grammar.numStates; s++) {
            if (masks.get(s) == null && (grammar.hasOut[s])) masks.compareAndSet(s, null, walker.compute(s));
        }
    }

    /** Heap bytes the computed masks take. */
    public long maskBytes() {
        long b = 0;
        for (int s = 0; s < grammar.numStates; s++) {
            StateMask m = masks.get(s);
            if (m != null) b += m.bytes();
        }
        return b;
    }

    StateMask mask(int state) {
        StateMask m = masks.get(state);
        if (m == null) {
            m = new MaskWalker().compute(state);
            if (!masks.compareAndSet(state, null, m)) m = masks.get(state);
        }
        return m;
    }

    /** Classifies every token for one start state, walking the sorted vocabulary with shared prefixes. */
    private final class MaskWalker {
        private final FrameSet[] levels;
        private int[] accepted = new int[256], rejected = new int[256], uncertain = new int[64];
        private int na, nr, nu;

        MaskWalker() {
            levels = new FrameSet[vocab.maxTokenBytes + 1];
            for (int i = 0; i < levels.length; i++) levels[i] = new FrameSet();
        }

        StateMask compute(int state) {
            na = nr = nu = 0;
            Grammar g = grammar;
            TokenVocabulary v = vocab;
            levels[0].clear();
            levels[0].add(state, Frame.OUTSIDE);
            byte[] nodeByte = v.nodeByte;
            int[] depth = v.nodeDepth, token = v.nodeToken, end = v.nodeEnd;
            int nodes = nodeByte.length;
            int n = 1;
            while (n < nodes) {
                int d = depth[n];
                FrameSet next = levels[d];
                next.step(levels[d - 1], g, nodeByte[n] & 0xff, d > 1);
                if (next.isEmpty()) {
                    // Every token under this node ends the same way: uncertain if a thread left the rule, else rejected.
                    if (next.escaped) {
                        for (int t = v.nodeFirstToken[n], last = v.nodeLastToken[n]; t < last; t++) add(v.sorted[t], 2);
                    }
                    n = end[n];
                    continue;
                }
                if (token[n] >= 0) {
                    for (int t = token[n], last = token[n] + v.nodeTokens[n]; t < last; t++) add(v.sorted[t], 0);
                }
                n++;
            }
            int rejected = v.sorted.length - na - nu;
            int bitsetInts = v.maskWords() * 2;
            if (rejected <= bitsetInts && rejected < na) {
                // Few rejected: list them (the complement of accepted and uncertain among the tokens with bytes).
                long[] seen = new long[v.maskWords()];
                for (int i = 0; i < na; i++) seen[accepted[i] >>> 6] |= 1L << accepted[i];
                for (int i = 0; i < nu; i++) seen[uncertain[i] >>> 6] |= 1L << uncertain[i];
                for (int id : v.sorted) if ((seen[id >>> 6] & (1L << id)) == 0) add(id, 1);
                return StateMask.of(accepted, na, rejected(), nr, uncertain, nu, v.size);
            }
            return StateMask.of(accepted, na, null, Integer.MAX_VALUE, uncertain, nu, v.size);
        }

        private int[] rejected() {
            return rejected;
        }

        private void add(int id, int kind) {
            switch (kind) {
                case 0 -> {
                    if (na == accepted.length) accepted = java.util.Arrays.copyOf(accepted, na * 2);
                    accepted[na++] = id;
                }
                case 1 -> {
                    if (nr == rejected.length) rejected = java.util.Arrays.copyOf(rejected, nr * 2);
                    rejected[nr++] = id;
                }
                default -> {
                    if (nu == uncertain.length) uncertain = java.util.Arrays.copyOf(uncertain, nu * 2);
                    uncertain[nu++] = id;
                }
            }
        }
    }
}
