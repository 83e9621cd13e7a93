package ai.armature.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * The JSON Schema {@code pattern} subset of ECMA-262 regular expressions, compiled to the bytes of JSON string
 * content whose decoded value matches: literals, {@code .}, classes (ranges, negation, {@code \d \w \s} and their
 * negations), escapes ({@code \t \n \xHH \\uHHHH \\u{H}}...), groups (capturing, non-capturing, named),
 * alternation, and the quantifiers {@code * + ? {n} {n,} {n,m}} (greedy or lazy: the language is the same). As
 * JSON Schema specifies, a pattern matches anywhere in the string unless anchored with {@code ^} / {@code $} at
 * the edges of its top-level alternatives. Backreferences, lookaround, word boundaries and Unicode property
 * escapes are refused with a message naming them.
 */
final class Regex {

    private static final CodePoints DIGIT = CodePoints.of('0', '9');
    private static final CodePoints WORD = CodePoints.of('0', '9', 'A', 'Z', '_', '_', 'a', 'z');
    private static final CodePoints SPACE = CodePoints.of(9, 13, ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
            0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF);
    private static final CodePoints DOT = CodePoints.of('\n', '\n', '\r', '\r', 0x2028, 0x2029).complement();

    private final String src;
    private final int[] cps;
    private int pos;

    private Regex(String src) {
        this.src = src;
        this.cps = src.codePoints().toArray();
    }

    /** The content bytes (between the quotes) of JSON strings whose value {@code pattern} matches. */
    static Node compile(String pattern) {
        Regex r = new Regex(pattern);
        List<Node> branches = new ArrayList<>();
        while (true) {
            boolean anchoredStart = r.peek('^');
            if (anchoredStart) r.pos++;
            Node body = r.branch();
            boolean anchoredEnd = false;
            if (r.peek('$')) {
                r.pos++;
                anchoredEnd = true;
            }
            List<Node> parts = new ArrayList<>();
            if (!anchoredStart) parts.add(Node.star(JsonStrings.anyChar()));
            parts.add(body);
            if (!anchoredEnd) parts.add(Node.star(JsonStrings.anyChar()));
            branches.add(Node.seq(parts));
            if (r.peek('|')) {
                r.pos++;
                continue;
            }
            if (r.pos < r.cps.length) throw r.error("unexpected '" + new String(Character.toChars(r.cps[r.pos])) + "'");
            break;
        }
        return Node.alt(branches);
    }

    private boolean peek(int c) {
        return pos < cps.length && cps[pos] == c;
    }

    private GrammarException error(String what) {
        return new GrammarException("pattern " + JsonQuote.quote(src) + ": " + what + " at character " + pos);
    }

    private Node alternation() {
        List<Node> alts = new ArrayList<>();
        alts.add(branch());
        while (peek('|')) {
            pos++;
            alts.add(branch());
        }
        return Node.alt(alts);
    }

    private Node branch() {
        List<Node> items = new ArrayList<>();
        while (pos < cps.length && !peek('|') && !peek(')')) {
            if (peek('$') && (pos + 1 == cps.length || cps[pos + 1] == '|')) break; // a top-level end anchor
            items.add(piece());
        }
        return Node.seq(items);
    }

    private Node piece() {
        Node atom = atom();
        while (pos < cps.length) {
            int c = cps[pos];
            int min, max;
            if (c == '*') {
                min = 0;
                max = -1;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && isQuantifierBrace()) {
                pos++;
                min = number();
                max = min;
                if (peek(',')) {
                    pos++;
                    max = peek('}') ? -1 : number();
                }
                if (!peek('}')) throw error("malformed {n,m} quantifier");
                pos++;
                if (max >= 0 && max < min) throw error("quantifier {" + min + "," + max + "} has max below min");
                if (min > 1000 || max > 1000) throw error("quantifier bounds above 1000 are not supported");
            } else {
                break;
            }
            if (peek('?')) pos++; // lazy: same language
            atom = Node.repeat(atom, min, max);
        }
        return atom;
    }

    private boolean isQuantifierBrace() {
        int p = pos + 1;
        int digits = 0;
        while (p < cps.length && Character.isDigit(cps[p])) {
            p++;
            digits++;
        }
        if (digits == 0) return false;
        if (p < cps.length && cps[p] == ',') {
            p++;
            while (p < cps.length && Character.isDigit(cps[p])) p++;
        }
        return p < cps.length && cps[p] == '}';
    }

    private int number() {
        int start = pos;
        while (pos < cps.length && Character.isDigit(cps[pos])) pos++;
        if (start == pos) throw error("expected a number");
        try {
            return Integer.parseInt(new String(cps, start, pos - start));
        } catch (NumberFormatException e) {
            throw error("number too large");
        }
    }

    private Node atom() {
        int c = cps[pos];
        switch (c) {
            case '(' -> {
                pos++;
                if (peek('?')) {
                    pos++;
                    if (peek(':')) {
                        pos++;
                    } else if (peek('<') && pos + 1 < cps.length && cps[pos + 1] != '=' && cps[pos + 1] != '!') {
                        while (pos < cps.length && cps[pos] != '>') pos++;
                        if (!peek('>')) throw error("unterminated group name");
                        pos++;
                    } else {
                        throw error("lookaround assertions are not supported");
                    }
                }
                Node inner = alternation();
                if (!peek(')')) throw error("missing ')'");
                pos++;
                return inner;
            }
            case '[' -> {
                pos++;
                return JsonStrings.encoded(charClass());
            }
            case '.' -> {
                pos++;
                return JsonStrings.encoded(DOT);
            }
            case '\\' -> {
                pos++;
                CodePoints set = escape(false);
                return JsonStrings.encoded(set);
            }
            case '^', '$' -> throw error("anchors are only supported at the start and end of the pattern's alternatives");
            case '*', '+', '?' -> throw error("nothing to repeat");
            case ')' -> throw error("unmatched ')'");
            default -> {
                pos++;
                return JsonStrings.encoded(CodePoints.of(c, c));
            }
        }
    }

    private CodePoints charClass() {
        boolean negate = peek('^');
        if (negate) pos++;
        List<int[]> ranges = new ArrayList<>();
        CodePoints extra = CodePoints.of();
        boolean first = true;
        while (pos < cps.length && (first || !peek(']'))) {
            first = false;
            int lo;
            CodePoints single;
            if (peek('\\')) {
                pos++;
                single = escape(true);
            } else {
                single = CodePoints.of(cps[pos], cps[pos]);
                pos++;
            }
            if (single.ranges.size() == 1 && single.ranges.getFirst()[0] == single.ranges.getFirst()[1]
                    && peek('-') && pos + 1 < cps.length && cps[pos + 1] != ']') {
                lo = single.ranges.getFirst()[0];
                pos++;
                CodePoints end;
                if (peek('\\')) {
                    pos++;
                    end = escape(true);
                } else {
                    end = CodePoints.of(cps[pos], cps[pos]);
                    pos++;
                }
                if (end.ranges.size() != 1 || end.ranges.getFirst()[0] != end.ranges.getFirst()[1]) throw error("bad class range");
                int hi = end.ranges.getFirst()[0];
                if (hi < lo) throw error("class range out of order");
                ranges.add(new int[] {lo, hi});
            } else {
                extra = extra.union(single);
            }
        }
        if (!peek(']')) throw error("missing ']'");
        pos++;
        CodePoints set = CodePoints.normalize(ranges).union(extra);
        return negate ? set.complement() : set;
    }

    /** After a backslash: the set it stands for. */
    private CodePoints escape(boolean inClass) {
        if (pos >= cps.length) throw error("pattern ends with a backslash");
        int c = cps[pos++];
        return switch (c) {
            case 'd' -> DIGIT;
            case 'D' -> DIGIT.complement();
            case 'w' -> WORD;
            case 'W' -> WORD.complement();
            case 's' -> SPACE;
            case 'S' -> SPACE.complement();
            case 't' -> CodePoints.of(9, 9);
            case 'n' -> CodePoints.of(10, 10);
            case 'v' -> CodePoints.of(11, 11);
            case 'f' -> CodePoints.of(12, 12);
            case 'r' -> CodePoints.of(13, 13);
            case '0' -> CodePoints.of(0, 0);
            case 'b' -> {
                if (inClass) yield CodePoints.of(8, 8);
                throw error("word boundaries (\\b) are not supported");
            }
            case 'B' -> throw error("word boundaries (\\B) are not supported");
            case 'x' -> {
                int v = hex(2);
                yield CodePoints.of(v, v);
            }
            case 'u' -> {
                int v;
                if (peek('{')) {
                    pos++;
                    int start = pos;
                    while (pos < cps.length && cps[pos] != '}') pos++;
                    if (!peek('}') || pos == start) throw error("malformed \\u{...}");
                    v = Integer.parseInt(new String(cps, start, pos - start), 16);
                    pos++;
                } else {
                    v = hex(4);
                }
                yield CodePoints.of(v, v);
            }
            case 'c' -> {
                if (pos >= cps.length) throw error("malformed \\c");
                int v = cps[pos++] % 32;
                yield CodePoints.of(v, v);
            }
            case 'p', 'P' -> throw error("Unicode property escapes (\\" + (char) c + "{...}) are not supported");
            case 'k' -> throw error("named backreferences are not supported");
            default -> {
                if (c >= '1' && c <= '9') throw error("backreferences are not supported");
                yield CodePoints.of(c, c);
            }
        };
    }

    private int hex(int n) {
        if (pos + n > cps.length) throw error("malformed hex escape");
        try {
            int v = Integer.parseInt(new String(cps, pos, n), 16);
            pos += n;
            return v;
        } catch (NumberFormatException e) {
            throw error("malformed hex escape");
        }
    }
}
