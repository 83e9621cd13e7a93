package ai.armature.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * JSON string syntax as byte expressions: one character of a string's content (written plainly, or as one of
 * the escapes RFC 8259 allows; never a lone surrogate), whole strings with length bounds in characters, and
 * sets of characters in their canonical JSON encoding (what regular-expression strings are built from: a
 * character that must be escaped appears escaped, any other plainly).
 */
final class JsonStrings {

    private JsonStrings() {
    }

    /** Characters that may appear unescaped: everything but '"', '\' and controls. */
    static final CodePoints PLAIN = CodePoints.of(0x20, 0x21, 0x23, 0x5B, 0x5D, CodePoints.MAX);

    private static Node hex() {
        return Node.alt(Node.bytes('0', '9'), Node.bytes('a', 'f'), Node.bytes('A', 'F'));
    }

    /** \\uXXXX for any BMP code point that is not a surrogate. */
    private static Node unicodeEscape() {
        Node notD = Node.alt(Node.bytes('0', '9'), Node.bytes('a', 'c'), Node.bytes('A', 'C'), Node.bytes('e', 'f'), Node.bytes('E', 'F'));
        Node d = Node.alt(Node.bytes('d', 'd'), Node.bytes('D', 'D'));
        return Node.seq(Node.literal("\\u"), Node.alt(Node.seq(notD, hex(), hex(), hex()), Node.seq(d, Node.bytes('0', '7'), hex(), hex())));
    }

    /** One character of string content in any valid encoding. */
    static Node anyChar() {
        Node shortEscape = Node.seq(Node.bytes('\\', '\\'), Node.alt(Node.bytes('"', '"'), Node.bytes('\\', '\\'), Node.bytes('/', '/'),
                Node.bytes('b', 'b'), Node.bytes('f', 'f'), Node.bytes('n', 'n'), Node.bytes('r', 'r'), Node.bytes('t', 't')));
        return Node.alt(PLAIN.utf8(), shortEscape, unicodeEscape());
    }

    /** A whole JSON string of {@code min} to {@code max} (negative: unbounded) characters. */
    static Node string(int min, int max) {
        return Node.seq(Node.literal("\""), Node.repeat(anyChar(), min, max), Node.literal("\""));
    }

    /** One character of {@code set}, JSON-encoded canonically (escaped exactly when it must be). */
    static Node encoded(CodePoints set) {
        List<Node> alts = new ArrayList<>();
        CodePoints plain = set.minus(PLAIN.complement());
        if (!plain.isEmpty()) alts.add(plain.utf8());
        if (set.contains('"')) alts.add(Node.literal("\\\""));
        if (set.contains('\\')) alts.add(Node.literal("\\\\"));
        for (int c = 0; c < 0x20; c++) {
            if (!set.contains(c)) continue;
            String esc = switch (c) {
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                case '\b' -> "\\b";
                case '\f' -> "\\f";
                default -> String.format("\\u%04x", c);
            };
            alts.add(Node.literal(esc));
        }
        if (alts.isEmpty()) throw new GrammarException("a character class matches no character");
        return Node.alt(alts);
    }
}
