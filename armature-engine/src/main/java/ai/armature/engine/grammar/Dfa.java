package ai.armature.engine.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small call-free deterministic automaton over bytes with a dense transition table, for the pieces of a grammar
 * that are built by set operations: number ranges (intersection of two bounds) and object keys that must differ
 * from the declared ones (difference). State 0 is the start; -1 is the dead state. Immutable.
 */
final class Dfa {

    static final int MAX_STATES = 50_000;

    private final int[] next; // state * 256 + byte
    private final boolean[] accepting;

    private Dfa(int[] next, boolean[] accepting) {
        this.next = next;
        this.accepting = accepting;
    }

    int size() {
        return accepting.length;
    }

    int next(int state, int b) {
        return next[state * 256 + b];
    }

    boolean accepting(int state) {
        return accepting[state];
    }

    boolean accepts(byte[] input) {
        int s = 0;
        for (byte b : input) {
            s = next(s, b & 0xff);
            if (s < 0) return false;
        }
        return accepting[s];
    }

    boolean isEmpty() {
        boolean[] seen = new boolean[size()];
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        todo.add(0);
        seen[0] = true;
        while (!todo.isEmpty()) {
            int s = todo.poll();
            if (accepting[s]) return false;
            for (int b = 0; b < 256; b++) {
                int t = next(s, b);
                if (t >= 0 && !seen[t]) {
                    seen[t] = true;
                    todo.add(t);
                }
            }
        }
        return true;
    }

    /** The DFA of a call-free expression (subset construction). */
    static Dfa of(Node node) {
        Nfa nfa = new Nfa();
        Nfa.Frag f = nfa.build(node);
        if (nfa.calls > 0) throw new IllegalArgumentException("a Dfa cannot hold rule calls");
        int n = nfa.states;
        int[][] out = adjacency(n, nfa.epsFrom, nfa.epsTo, nfa.eps);
        List<int[]> byFrom = new ArrayList<>(n);
        int[] count = new int[n];
        for (int e = 0; e < nfa.edges; e++) count[nfa.edgeFrom[e]]++;
        for (int s = 0; s < n; s++) byFrom.add(new int[count[s]]);
        Arrays.fill(count, 0);
        for (int e = 0; e < nfa.edges; e++) byFrom.get(nfa.edgeFrom[e])[count[nfa.edgeFrom[e]]++] = e;

        Map<Key, Integer> ids = new HashMap<>();
        List<int[]> sets = new ArrayList<>();
        int[] start = closure(new int[] {f.start()}, out, n);
        ids.put(new Key(start), 0);
        sets.add(start);
        IntArray table = new IntArray();
        List<Boolean> acc = new ArrayList<>();
        boolean[] mark = new boolean[n];
        for (int i = 0; i < sets.size(); i++) {
            int[] set = sets.get(i);
            boolean a = false;
            for (int s : set) a |= s == f.end();
            acc.add(a);
            for (int b = 0; b < 256; b++) {
                int[] targets = new int[4];
                int k = 0;
                for (int s : set) {
                    for (int e : byFrom.get(s)) {
                        if (nfa.edgeLo[e] <= b && b <= nfa.edgeHi[e] && !mark[nfa.edgeTo[e]]) {
                            mark[nfa.edgeTo[e]] = true;
                            if (k == targets.length) targets = Arrays.copyOf(targets, k * 2);
                            targets[k++] = nfa.edgeTo[e];
                        }
                    }
                }
                for (int j = 0; j < k; j++) mark[targets[j]] = false;
                if (k == 0) {
                    table.add(-1);
                    continue;
                }
                int[] c = closure(Arrays.copyOf(targets, k), out, n);
                Integer id = ids.get(new Key(c));
                if (id == null) {
                    id = sets.size();
                    if (id >= MAX_STATES) throw new GrammarTooLargeException("a number range or key set needs more than " + MAX_STATES + " states");
                    ids.put(new Key(c), id);
                    sets.add(c);
                }
                table.add(id);
            }
        }
        boolean[] accepting = new boolean[acc.size()];
        for (int i = 0; i < accepting.length; i++) accepting[i] = acc.get(i);
        return new Dfa(table.toArray(), accepting);
    }

    /** Strings accepted by both. */
    Dfa intersect(Dfa other) {
        return product(other, true);
    }

    /** Strings accepted by this one but not by {@code other}. */
    Dfa minus(Dfa other) {
        return product(other, false);
    }

    private Dfa product(Dfa o, boolean both) {
        Map<Long, Integer> ids = new HashMap<>();
        List<long[]> pairs = new ArrayList<>();
        IntArray table = new IntArray();
        List<Boolean> acc = new ArrayList<>();
        ids.put(pack(0, 0), 0);
        pairs.add(new long[] {0, 0});
        for (int i = 0; i < pairs.size(); i++) {
            int a = (int) pairs.get(i)[0], b = (int) pairs.get(i)[1];
            boolean accA = accepting[a];
            boolean accB = b >= 0 && o.accepting[b];
            acc.add(both ? accA && accB : accA && !accB);
            for (int x = 0; x < 256; x++) {
                int na = next(a, x);
                int nb = b < 0 ? -1 : o.next(b, x);
                if (na < 0 || (both && nb < 0)) {
                    table.add(-1);
                    continue;
                }
                long key = pack(na, nb);
                Integer id = ids.get(key);
                if (id == null) {
                    id = pairs.size();
                    if (id >= MAX_STATES) throw new GrammarTooLargeException("a number range or key set needs more than " + MAX_STATES + " states");
                    ids.put(key, id);
                    pairs.add(new long[] {na, nb});
                }
                table.add(id);
            }
        }
        boolean[] accepting = new boolean[acc.size()];
        for (int i = 0; i < accepting.length; i++) accepting[i] = acc.get(i);
        return trimmed(table.toArray(), accepting);
    }

    /**
     * The automaton with every edge into a state that can no longer reach acceptance sent to the dead state. A
     * difference leaves such traps (a string the subtrahend accepts, continued), and a matcher must never enter
     * one: its masks would allow tokens after which nothing completes the output.
     */
    private static Dfa trimmed(int[] next, boolean[] accepting) {
        int n = accepting.length;
        int[][] into = new int[n][];
        int[] deg = new int[n];
        for (int i = 0; i < next.length; i++) if (next[i] >= 0) deg[next[i]]++;
        for (int s = 0; s < n; s++) into[s] = new int[deg[s]];
        Arrays.fill(deg, 0);
        for (int i = 0; i < next.length; i++) if (next[i] >= 0) into[next[i]][deg[next[i]]++] = i / 256;
        boolean[] live = new boolean[n];
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (accepting[s]) {
                live[s] = true;
                todo.add(s);
            }
        }
        while (!todo.isEmpty()) {
            for (int from : into[todo.poll()]) {
                if (!live[from]) {
                    live[from] = true;
                    todo.add(from);
                }
            }
        }
        for (int i = 0; i < next.length; i++) if (next[i] >= 0 && !live[next[i]]) next[i] = -1;
        return new Dfa(next, accepting);
    }

    private static long pack(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    static int[][] adjacency(int n, int[] from, int[] to, int count) {
        int[] deg = new int[n];
        for (int i = 0; i < count; i++) deg[from[i]]++;
        int[][] out = new int[n][];
        for (int s = 0; s < n; s++) out[s] = new int[deg[s]];
        Arrays.fill(deg, 0);
        for (int i = 0; i < count; i++) out[from[i]][deg[from[i]]++] = to[i];
        return out;
    }

    /** The sorted epsilon closure of {@code seeds}. */
    static int[] closure(int[] seeds, int[][] eps, int n) {
        boolean[] in = new boolean[n];
        int[] stack = new int[Math.max(4, seeds.length)];
        int sp = 0;
        IntArray result = new IntArray();
        for (int s : seeds) {
            if (!in[s]) {
                in[s] = true;
                if (sp == stack.length) stack = Arrays.copyOf(stack, sp * 2);
                stack[sp++] = s;
            }
        }
        while (sp > 0) {
            int s = stack[--sp];
            result.add(s);
            for (int t : eps[s]) {
                if (!in[t]) {
                    in[t] = true;
                    if (sp == stack.length) stack = Arrays.copyOf(stack, sp * 2);
                    stack[sp++] = t;
                }
            }
        }
        int[] r = result.toArray();
        Arrays.sort(r);
        return r;
    }

    /** An int array used as a hash key. */
    record Key(int[] a) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(a, k.a);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(a);
        }
    }

    /** A growable int array. */
    static final class IntArray {
        int[] a = new int[16];
        int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
