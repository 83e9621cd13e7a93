package ai.armature.engine.grammar;

import java.util.Arrays;

/**
 * A nondeterministic automaton under construction (Thompson style): states joined by byte-range edges, epsilon
 * edges and call edges (enter another rule, continue at the edge's target when it ends). One NFA holds one rule;
 * {@link #build(Node)} instantiates an expression into it as a fragment with one start and one end state.
 */
final class Nfa {

    /** A piece of automaton: enter at {@code start}, leave from {@code end}. */
    record Frag(int start, int end) {
    }

    /** Repetitions beyond this many copies of one expression are refused: the automaton would grow too large. */
    static final int MAX_STATES = 1_000_000;

    int states;
    // byte edges: per edge (from, lo, hi, to)
    int[] edgeFrom = new int[64], edgeLo = new int[64], edgeHi = new int[64], edgeTo = new int[64];
    int edges;
    int[] epsFrom = new int[64], epsTo = new int[64];
    int eps;
    int[] callFrom = new int[8], callRule = new int[8], callTo = new int[8];
    int calls;

    int newState() {
        if (states >= MAX_STATES) throw new GrammarTooLargeException("the grammar needs more than " + MAX_STATES + " automaton states");
        return states++;
    }

    void range(int from, int lo, int hi, int to) {
        if (edges == edgeFrom.length) {
            int n = edges * 2;
            edgeFrom = Arrays.copyOf(edgeFrom, n);
            edgeLo = Arrays.copyOf(edgeLo, n);
            edgeHi = Arrays.copyOf(edgeHi, n);
            edgeTo = Arrays.copyOf(edgeTo, n);
        }
        edgeFrom[edges] = from;
        edgeLo[edges] = lo;
        edgeHi[edges] = hi;
        edgeTo[edges] = to;
        edges++;
    }

    void epsilon(int from, int to) {
        if (eps == epsFrom.length) {
            epsFrom = Arrays.copyOf(epsFrom, eps * 2);
            epsTo = Arrays.copyOf(epsTo, eps * 2);
        }
        epsFrom[eps] = from;
        epsTo[eps] = to;
        eps++;
    }

    void call(int from, int rule, int to) {
        if (calls == callFrom.length) {
            callFrom = Arrays.copyOf(callFrom, calls * 2);
            callRule = Arrays.copyOf(callRule, calls * 2);
            callTo = Arrays.copyOf(callTo, calls * 2);
        }
        callFrom[calls] = from;
        callRule[calls] = rule;
        callTo[calls] = to;
        calls++;
    }

    /** Instantiates {@code node} as a new fragment. */
    Frag build(Node node) {
        return switch (node) {
            case Node.Bytes(int lo, int hi) -> {
                int a = newState(), b = newState();
                range(a, lo, hi, b);
                yield new Frag(a, b);
            }
            case Node.Seq(var items) -> {
                if (items.isEmpty()) {
                    int a = newState();
                    yield new Frag(a, a);
                }
                Frag first = build(items.getFirst());
                int end = first.end();
                for (int i = 1; i < items.size(); i++) {
                    Frag f = build(items.get(i));
                    epsilon(end, f.start());
                    end = f.end();
                }
                yield new Frag(first.start(), end);
            }
            case Node.Alt(var options) -> {
                int a = newState(), b = newState();
                for (Node o : options) {
                    Frag f = build(o);
                    epsilon(a, f.start());
                    epsilon(f.end(), b);
                }
                yield new Frag(a, b);
            }
            case Node.Repeat(Node inner, int min, int max) -> repeat(inner, min, max);
            case Node.Call(int rule) -> {
                int a = newState(), b = newState();
                call(a, rule, b);
                yield new Frag(a, b);
            }
            case Node.Embedded(Dfa dfa) -> embed(dfa);
            case Node.Graph(Node.GraphBuilder builder) -> builder.build(this);
        };
    }

    private Frag repeat(Node inner, int min, int max) {
        int start = newState();
        int end = start;
        for (int i = 0; i < min; i++) {
            Frag f = build(inner);
            epsilon(end, f.start());
            end = f.end();
        }
        if (max < 0) {
            // Loop: end -> inner -> end.
            Frag f = build(inner);
            int loop = newState();
            epsilon(end, loop);
            epsilon(loop, f.start());
            epsilon(f.end(), loop);
            return new Frag(start, loop);
        }
        int finish = newState();
        epsilon(end, finish);
        for (int i = min; i < max; i++) {
            Frag f = build(inner);
            epsilon(end, f.start());
            epsilon(f.end(), finish);
            end = f.end();
        }
        return new Frag(start, finish);
    }

    /** Copies a call-free DFA in: its accepting states lead to the fragment's end. */
    private Frag embed(Dfa dfa) {
        int base = states;
        for (int i = 0; i < dfa.size(); i++) newState();
        int end = newState();
        for (int s = 0; s < dfa.size(); s++) {
            int b = 0;
            while (b < 256) {
                int t = dfa.next(s, b);
                int e = b;
                while (e + 1 < 256 && dfa.next(s, e + 1) == t) e++;
                if (t >= 0) range(base + s, b, e, base + t);
                b = e + 1;
            }
            if (dfa.accepting(s)) epsilon(base + s, end);
        }
        return new Frag(base, end);
    }
}
