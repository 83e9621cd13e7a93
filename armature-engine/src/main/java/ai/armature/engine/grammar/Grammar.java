package ai.armature.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A compiled grammar, independent of any vocabulary: a set of rules, each a deterministic automaton over bytes
 * whose states may also call other rules (a pushdown automaton, so recursive JSON nests to any depth). States of
 * all rules share one numbering. Bytes are grouped into classes that every transition treats alike, so the
 * transition table is {@code states x classes}. Rules never match the empty string and never call themselves
 * before consuming a byte, so matching always terminates. Immutable and thread-safe.
 */
public final class Grammar {

    /** Automaton states above this are refused: the mask cache and compile time grow with them. */
    public static final int MAX_STATES = 200_000;

    final int numStates;
    final int numClasses;
    final int[] classOf = new int[256];
    /** {@code next[state * numClasses + class]}: the target in the same rule, or -1. */
    final int[] next;
    final boolean[] accepting;
    final int[] callOffset;
    final int[] callRule;
    final int[] callTarget;
    /** Whether a state has any way forward: a byte transition or a call. */
    final boolean[] hasOut;
    final int[] ruleStart;
    final int[] ruleOf;
    final String[] ruleNames;
    final int rootRule;
    /** {@code startsWith[rule * numClasses + class]}: whether the rule can begin with a byte of that class. */
    final boolean[] startsWith;

    private Grammar(int numStates, int numClasses, int[] classOf, int[] next, boolean[] accepting, int[] callOffset,
                    int[] callRule, int[] callTarget, int[] ruleStart, int[] ruleOf, String[] ruleNames, int rootRule) {
        this.numStates = numStates;
        this.numClasses = numClasses;
        System.arraycopy(classOf, 0, this.classOf, 0, 256);
        this.next = next;
        this.accepting = accepting;
        this.callOffset = callOffset;
        this.callRule = callRule;
        this.callTarget = callTarget;
        this.ruleStart = ruleStart;
        this.ruleOf = ruleOf;
        this.ruleNames = ruleNames;
        this.rootRule = rootRule;
        this.hasOut = new boolean[numStates];
        for (int s = 0; s < numStates; s++) {
            boolean out = callOffset[s + 1] > callOffset[s];
            for (int c = 0; c < numClasses && !out; c++) out = next[s * numClasses + c] >= 0;
            hasOut[s] = out;
        }
        this.startsWith = firstClasses();
    }

    /** The byte classes each rule can begin with: its start's transitions and what the rules it calls there begin with. */
    private boolean[] firstClasses() {
        int rules = ruleStart.length;
        boolean[] first = new boolean[rules * numClasses];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < rules; r++) {
                int s = ruleStart[r];
                for (int c = 0; c < numClasses; c++) {
                    if (first[r * numClasses + c]) continue;
                    boolean yes = next[s * numClasses + c] >= 0;
                    for (int i = callOffset[s]; i < callOffset[s + 1] && !yes; i++) yes = first[callRule[i] * numClasses + c];
                    if (yes) {
                        first[r * numClasses + c] = true;
                        changed = true;
                    }
                }
            }
        }
        return first;
    }

    public int stateCount() {
        return numStates;
    }

    public int ruleCount() {
        return ruleStart.length;
    }

    int rootStart() {
        return ruleStart[rootRule];
    }

    int step(int state, int b) {
        return next[state * numClasses + classOf[b]];
    }

    /** Whether the grammar matches {@code input} completely (for tests and checks; no vocabulary involved). */
    public boolean matches(byte[] input) {
        FrameSet frames = run(input);
        return frames != null && frames.complete(this);
    }

    /** Whether some continuation of {@code input} is matched (input is a prefix of the language). */
    public boolean matchesPrefix(byte[] input) {
        return run(input) != null;
    }

    private FrameSet run(byte[] input) {
        FrameSet cur = FrameSet.start(this), tmp = new FrameSet();
        for (byte b : input) {
            tmp.step(cur, this, b & 0xff, false);
            if (tmp.isEmpty()) return null;
            FrameSet t = cur;
            cur = tmp;
            tmp = t;
        }
        return cur;
    }

    @Override
    public String toString() {
        return "Grammar[" + ruleStart.length + " rules, " + numStates + " states, " + numClasses + " byte classes]";
    }

    /**
     * Collects rules (as expressions; a rule may be declared first and defined later, for recursion) and compiles
     * them: one NFA per rule, byte classes over all of them, then subset construction per rule.
     */
    static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final List<Node> bodies = new ArrayList<>();

        int declare(String name) {
            names.add(name);
            bodies.add(null);
            return names.size() - 1;
        }

        void define(int rule, Node body) {
            if (bodies.get(rule) != null) throw new IllegalStateException("rule " + names.get(rule) + " is already defined");
            bodies.set(rule, body);
        }

        int add(String name, Node body) {
            int r = declare(name);
            define(r, body);
            return r;
        }

        boolean defined(int rule) {
            return bodies.get(rule) != null;
        }

        Grammar build(int root) {
            int rules = names.size();
            Nfa[] nfas = new Nfa[rules];
            Nfa.Frag[] frags = new Nfa.Frag[rules];
            for (int r = 0; r < rules; r++) {
                if (bodies.get(r) == null) throw new IllegalStateException("rule " + names.get(r) + " was declared but not defined");
                nfas[r] = new Nfa();
                frags[r] = nfas[r].build(bodies.get(r));
            }
            // Byte classes: bytes no range boundary separates behave alike everywhere.
            boolean[] boundary = new boolean[257];
            boundary[0] = true;
            for (Nfa n : nfas) {
                for (int e = 0; e < n.edges; e++) {
                    boundary[n.edgeLo[e]] = true;
                    boundary[n.edgeHi[e] + 1] = true;
                }
            }
            int[] classOf = new int[256];
            int classes = -1;
            for (int b = 0; b < 256; b++) {
                if (boundary[b]) classes++;
                classOf[b] = classes;
            }
            classes++;
            Determinized[] dets = new Determinized[rules];
            int total = 0;
            for (int r = 0; r < rules; r++) {
                dets[r] = determinize(nfas[r], frags[r], classOf, classes, names.get(r));
                total += dets[r].count;
                if (total > MAX_STATES) {
                    throw new GrammarTooLargeException("the grammar needs more than " + MAX_STATES + " automaton states");
                }
            }
            int[] ruleStart = new int[rules];
            int[] ruleOf = new int[total];
            int[] next = new int[total * classes];
            boolean[] accepting = new boolean[total];
            int[] callOffset = new int[total + 1];
            Dfa.IntArray callRule = new Dfa.IntArray(), callTarget = new Dfa.IntArray();
            int base = 0;
            for (int r = 0; r < rules; r++) {
                Determinized d = dets[r];
                ruleStart[r] = base;
                for (int s = 0; s < d.count; s++) {
                    int g = base + s;
                    ruleOf[g] = r;
                    accepting[g] = d.accepting.get(s);
                    for (int c = 0; c < classes; c++) {
                        int t = d.next.a[s * classes + c];
                        next[g * classes + c] = t < 0 ? -1 : base + t;
                    }
                    callOffset[g] = callRule.n;
                    int[] cs = d.calls.get(s);
                    for (int i = 0; i < cs.length; i += 2) {
                        callRule.add(cs[i]);
                        callTarget.add(base + cs[i + 1]);
                    }
                }
                base += d.count;
            }
            callOffset[total] = callRule.n;
            String[] ruleNames = names.toArray(String[]::new);
            for (int r = 0; r < rules; r++) {
                if (accepting[ruleStart[r]]) {
                    throw new IllegalStateException("rule " + ruleNames[r] + " matches the empty string; rules must consume input");
                }
            }
            checkLeftRecursion(ruleStart, callOffset, callRule.toArray(), ruleNames);
            return new Grammar(total, classes, classOf, next, accepting, callOffset, callRule.toArray(), callTarget.toArray(),
                    ruleStart, ruleOf, ruleNames, root);
        }

        /** A rule may not reach a call of itself through rules entered before any byte is consumed. */
        private static void checkLeftRecursion(int[] ruleStart, int[] callOffset, int[] callRule, String[] names) {
            int rules = ruleStart.length;
            int[] state = new int[rules]; // 0 new, 1 on stack, 2 done
            for (int r = 0; r < rules; r++) leftDfs(r, state, ruleStart, callOffset, callRule, names);
        }

        private static void leftDfs(int r, int[] state, int[] ruleStart, int[] callOffset, int[] callRule, String[] names) {
            if (state[r] == 2) return;
            if (state[r] == 1) throw new IllegalStateException("rule " + names[r] + " is left-recursive");
            state[r] = 1;
            int s = ruleStart[r];
            for (int i = callOffset[s]; i < callOffset[s + 1]; i++) leftDfs(callRule[i], state, ruleStart, callOffset, callRule, names);
            state[r] = 2;
        }

        private record Determinized(int count, Dfa.IntArray next, List<Boolean> accepting, List<int[]> calls) {
        }

        private static Determinized determinize(Nfa nfa, Nfa.Frag frag, int[] classOf, int classes, String name) {
            int n = nfa.states;
            int[][] eps = Dfa.adjacency(n, nfa.epsFrom, nfa.epsTo, nfa.eps);
            int[][] byteEdges = edgeIndex(n, nfa.edgeFrom, nfa.edges);
            int[][] callEdges = edgeIndex(n, nfa.callFrom, nfa.calls);
            boolean[] important = new boolean[n];
            for (int s = 0; s < n; s++) important[s] = byteEdges[s].length > 0 || callEdges[s].length > 0 || s == frag.end();
            Closure closure = new Closure(n, eps, important);
            Map<Dfa.Key, Integer> ids = new HashMap<>();
            List<int[]> sets = new ArrayList<>();
            int[] start = closure.of(new int[] {frag.start()}, 1);
            ids.put(new Dfa.Key(start), 0);
            sets.add(start);
            Dfa.IntArray next = new Dfa.IntArray();
            List<Boolean> accepting = new ArrayList<>();
            List<int[]> calls = new ArrayList<>();
            int[] seeds = new int[16];
            for (int i = 0; i < sets.size(); i++) {
                int[] set = sets.get(i);
                boolean acc = false;
                for (int s : set) acc |= s == frag.end();
                accepting.add(acc);
                for (int c = 0; c < classes; c++) {
                    int k = 0;
                    for (int s : set) {
                        for (int e : byteEdges[s]) {
                            if (classOf[nfa.edgeLo[e]] <= c && c <= classOf[nfa.edgeHi[e]]) {
                                if (k == seeds.length) seeds = Arrays.copyOf(seeds, k * 2);
                                seeds[k++] = nfa.edgeTo[e];
                            }
                        }
                    }
                    int[] target = k == 0 ? null : closure.of(seeds, k);
                    next.add(target == null || target.length == 0 ? -1 : intern(target, ids, sets, name));
                }
                // Calls grouped by callee: one DFA edge per rule called from this set.
                Map<Integer, Dfa.IntArray> byRule = new java.util.TreeMap<>();
                for (int s : set) {
                    for (int e : callEdges[s]) byRule.computeIfAbsent(nfa.callRule[e], x -> new Dfa.IntArray()).add(nfa.callTo[e]);
                }
                int[] cs = new int[byRule.size() * 2];
                int j = 0;
                for (var entry : byRule.entrySet()) {
                    Dfa.IntArray targets = entry.getValue();
                    cs[j++] = entry.getKey();
                    cs[j++] = intern(closure.of(targets.a, targets.n), ids, sets, name);
                }
                calls.add(cs);
            }
            return new Determinized(sets.size(), next, accepting, calls);
        }

        private static int intern(int[] set, Map<Dfa.Key, Integer> ids, List<int[]> sets, String name) {
            Dfa.Key key = new Dfa.Key(set);
            Integer id = ids.get(key);
            if (id != null) return id;
            if (sets.size() >= MAX_STATES) {
                throw new GrammarTooLargeException("rule " + name + " needs more than " + MAX_STATES + " automaton states");
            }
            ids.put(key, sets.size());
            sets.add(set);
            return sets.size() - 1;
        }

        private static int[][] edgeIndex(int n, int[] from, int count) {
            int[] deg = new int[n];
            for (int i = 0; i < count; i++) deg[from[i]]++;
            int[][] out = new int[n][];
            for (int s = 0; s < n; s++) out[s] = new int[deg[s]];
            Arrays.fill(deg, 0);
            for (int i = 0; i < count; i++) out[from[i]][deg[from[i]]++] = i;
            return out;
        }
    }

    /** Epsilon closures with a reusable mark array (cleared by what was marked, not by size). */
    private static final class Closure {
        private final int[][] eps;
        private final boolean[] in;
        /** States that matter for what follows; sets are keyed by these only, so equivalent sets merge. */
        private final boolean[] important;
        private int[] stack = new int[64];
        private int[] result = new int[64];
        private int[] touched = new int[64];

        Closure(int n, int[][] eps, boolean[] important) {
            this.eps = eps;
            this.in = new boolean[n];
            this.important = important;
        }

        int[] of(int[] seeds, int count) {
            int sp = 0, rn = 0, tn = 0;
            for (int i = 0; i < count; i++) {
                int s = seeds[i];
                if (!in[s]) {
                    in[s] = true;
                    if (tn == touched.length) touched = Arrays.copyOf(touched, tn * 2);
                    touched[tn++] = s;
                    if (sp == stack.length) stack = Arrays.copyOf(stack, sp * 2);
                    stack[sp++] = s;
                }
            }
            while (sp > 0) {
                int s = stack[--sp];
                if (important[s]) {
                    if (rn == result.length) result = Arrays.copyOf(result, rn * 2);
                    result[rn++] = s;
                }
                for (int t : eps[s]) {
                    if (!in[t]) {
                        in[t] = true;
                        if (tn == touched.length) touched = Arrays.copyOf(touched, tn * 2);
                        touched[tn++] = t;
                        if (sp == stack.length) stack = Arrays.copyOf(stack, sp * 2);
                        stack[sp++] = t;
                    }
                }
            }
            for (int i = 0; i < tn; i++) in[touched[i]] = false;
            int[] r = Arrays.copyOf(result, rn);
            Arrays.sort(r);
            return r;
        }
    }
}
