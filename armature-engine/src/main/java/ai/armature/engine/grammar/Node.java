package ai.armature.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * A grammar expression over bytes, before it becomes automata: byte ranges, sequences, alternatives, bounded
 * repetition, calls of other rules, and embedded automata. Nodes are immutable trees; a node used twice is
 * instantiated twice. {@link Graph} escapes the tree shape for constructions that share states (an object's
 * optional members) and would be exponential as a tree.
 */
sealed interface Node {

    /** One byte in {@code [lo, hi]}. */
    record Bytes(int lo, int hi) implements Node {
        public Bytes {
            if (lo < 0 || hi > 255 || lo > hi) throw new IllegalArgumentException("bad byte range " + lo + ".." + hi);
        }
    }

    record Seq(List<Node> items) implements Node {
    }

    record Alt(List<Node> options) implements Node {
    }

    /** {@code node} repeated {@code min} to {@code max} times; {@code max < 0} means unbounded. */
    record Repeat(Node node, int min, int max) implements Node {
    }

    /** The whole of another rule (by id), which may be recursive. */
    record Call(int rule) implements Node {
    }

    /** A call-free automaton built elsewhere (number ranges, key exclusion). */
    record Embedded(Dfa dfa) implements Node {
    }

    /** Builds its own states into the automaton under construction. */
    record Graph(GraphBuilder builder) implements Node {
    }

    /** Writes a fragment into {@code nfa} and returns it. */
    @FunctionalInterface
    interface GraphBuilder {
        Nfa.Frag build(Nfa nfa);
    }

    Node EMPTY = new Seq(List.of());

    static Node bytes(int lo, int hi) {
        return new Bytes(lo, hi);
    }

    static Node literal(byte[] bytes) {
        List<Node> items = new ArrayList<>(bytes.length);
        for (byte b : bytes) items.add(new Bytes(b & 0xff, b & 0xff));
        return items.size() == 1 ? items.getFirst() : new Seq(items);
    }

    static Node literal(String text) {
        return literal(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static Node seq(Node... items) {
        return new Seq(List.of(items));
    }

    static Node seq(List<Node> items) {
        return items.size() == 1 ? items.getFirst() : new Seq(List.copyOf(items));
    }

    static Node alt(Node... options) {
        return options.length == 1 ? options[0] : new Alt(List.of(options));
    }

    static Node alt(List<Node> options) {
        return options.size() == 1 ? options.getFirst() : new Alt(List.copyOf(options));
    }

    static Node optional(Node n) {
        return new Repeat(n, 0, 1);
    }

    static Node star(Node n) {
        return new Repeat(n, 0, -1);
    }

    static Node plus(Node n) {
        return new Repeat(n, 1, -1);
    }

    static Node repeat(Node n, int min, int max) {
        return new Repeat(n, min, max);
    }
}
