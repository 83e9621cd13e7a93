package ai.armature.engine.grammar;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON numbers as byte automata: the full syntax ({@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?}: exponents
 * of at most two digits, so a number never overflows a double for the client that reads it), and
 * numbers within bounds. A bounded number is written without an exponent, and its automaton accepts exactly the
 * decimal literals whose value lies in the range: the value is compared digit by digit with each bound (longer
 * integer part, or equal up to a first larger digit, or equal then a fraction that compares the same way), and
 * the two bounds' automata are intersected. Negative values are "-" followed by the mirrored range.
 */
final class NumberGrammar {

    private NumberGrammar() {
    }

    private static final Node DIGIT = Node.bytes('0', '9');
    private static final Node DIGITS = Node.star(DIGIT);

    static Node anyNumber(boolean integer) {
        Node intPart = Node.alt(Node.literal("0"), Node.seq(Node.bytes('1', '9'), DIGITS));
        if (integer) return Node.seq(Node.optional(Node.literal("-")), intPart);
        Node frac = Node.optional(Node.seq(Node.literal("."), Node.plus(DIGIT)));
        Node exp = Node.optional(Node.seq(Node.alt(Node.literal("e"), Node.literal("E")),
                Node.optional(Node.alt(Node.literal("+"), Node.literal("-"))), Node.repeat(DIGIT, 1, 2)));
        return Node.seq(Node.optional(Node.literal("-")), intPart, frac, exp);
    }

    /** A bound: null value means unbounded. */
    record Bound(BigDecimal value, boolean exclusive) {
    }

    /**
     * Numbers (or integers) in the range; throws when it holds no such number. Integer bounds are rounded inwards.
     */
    static Node range(boolean integer, Bound lo, Bound hi, String where) {
        if (integer) {
            lo = lo.value == null ? lo : new Bound(integerLow(lo), false);
            hi = hi.value == null ? hi : new Bound(integerHigh(hi), false);
        }
        if (lo.value != null && hi.value != null) {
            int c = lo.value.compareTo(hi.value);
            if (c > 0 || (c == 0 && (lo.exclusive || hi.exclusive))) {
                throw new GrammarException("the schema at " + where + " allows no " + (integer ? "integer" : "number")
                        + ": minimum " + lo.value.toPlainString() + " is above maximum " + hi.value.toPlainString());
            }
        }
        List<Node> branches = new ArrayList<>();
        // Values >= 0 (written without a sign).
        boolean nonNegative = hi.value == null || hi.value.signum() > 0 || (hi.value.signum() == 0 && !hi.exclusive);
        if (nonNegative) {
            Bound l = lo.value == null || lo.value.signum() < 0 ? new Bound(BigDecimal.ZERO, false) : lo;
            branches.add(nonNegativeRange(integer, l, hi));
        }
        // Values < 0: "-" then y with -hi <= y <= -lo; y > 0 so "-0" never appears.
        boolean negative = lo.value == null || lo.value.signum() < 0;
        if (negative) {
            Bound l = hi.value != null && hi.value.signum() < 0 ? new Bound(hi.value.negate(), hi.exclusive) : new Bound(BigDecimal.ZERO, true);
            Bound h = lo.value == null ? new Bound(null, false) : new Bound(lo.value.negate(), lo.exclusive);
            branches.add(Node.seq(Node.literal("-"), nonNegativeRange(integer, l, h)));
        }
        return Node.alt(branches);
    }

    private static BigDecimal integerLow(Bound b) {
        BigDecimal v = b.value.setScale(0, RoundingMode.CEILING);
        if (b.exclusive && v.compareTo(b.value) == 0) v = v.add(BigDecimal.ONE);
        return v;
    }

    private static BigDecimal integerHigh(Bound b) {
        BigDecimal v = b.value.setScale(0, RoundingMode.FLOOR);
        if (b.exclusive && v.compareTo(b.value) == 0) v = v.subtract(BigDecimal.ONE);
        return v;
    }

    private static Node nonNegativeRange(boolean integer, Bound lo, Bound hi) {
        Dfa d = Dfa.of(lower(integer, lo));
        if (hi.value != null) d = d.intersect(Dfa.of(upper(integer, hi)));
        return new Node.Embedded(d);
    }

    /** Integer part digits and fraction digits (no trailing zeros) of a value >= 0. */
    private record Parts(String intDigits, String frac) {
        static Parts of(BigDecimal v) {
            BigDecimal s = v.stripTrailingZeros();
            String plain = s.toPlainString();
            int dot = plain.indexOf('.');
            if (dot < 0) return new Parts(new BigInteger(plain).toString(), "");
            return new Parts(new BigInteger(plain.substring(0, dot)).toString(), plain.substring(dot + 1));
        }
    }

    private static Node anyFraction(boolean integer) {
        return integer ? Node.EMPTY : Node.optional(Node.seq(Node.literal("."), Node.plus(DIGIT)));
    }

    private static Node digitsIn(int lo, int hi) {
        return Node.bytes('0' + lo, '0' + hi);
    }

    /** Literals >= lo (or > lo when exclusive), lo >= 0. */
    private static Node lower(boolean integer, Bound lo) {
        Parts p = Parts.of(lo.value);
        String a = p.intDigits;
        int n = a.length();
        List<Node> alts = new ArrayList<>();
        // Longer integer part.
        alts.add(Node.seq(Node.bytes('1', '9'), Node.repeat(DIGIT, n, n), DIGITS, anyFraction(integer)));
        // Same length, larger at the first difference.
        for (int i = 0; i < n; i++) {
            int di = a.charAt(i) - '0';
            int from = i == 0 ? Math.max(di + 1, n > 1 ? 1 : 0) : di + 1;
            if (from > 9) continue;
            alts.add(Node.seq(Node.literal(a.substring(0, i)), digitsIn(from, 9), Node.repeat(DIGIT, n - i - 1, n - i - 1), anyFraction(integer)));
        }
        // Same integer part, then the fraction decides.
        if (integer) {
            if (!lo.exclusive) alts.add(Node.literal(a));
        } else {
            alts.add(Node.seq(Node.literal(a), fractionAbove(p.frac, !lo.exclusive)));
        }
        return Node.alt(alts);
    }

    /** Literals <= hi (or < hi when exclusive), hi >= 0. */
    private static Node upper(boolean integer, Bound hi) {
        Parts p = Parts.of(hi.value);
        String b = p.intDigits;
        int n = b.length();
        List<Node> alts = new ArrayList<>();
        // Shorter integer part.
        if (n >= 2) {
            alts.add(Node.seq(Node.alt(Node.literal("0"), Node.seq(Node.bytes('1', '9'), Node.repeat(DIGIT, 0, n - 2))), anyFraction(integer)));
        }
        // Same length, smaller at the first difference.
        for (int i = 0; i < n; i++) {
            int di = b.charAt(i) - '0';
            int from = i == 0 && n > 1 ? 1 : 0;
            if (di - 1 < from) continue;
            alts.add(Node.seq(Node.literal(b.substring(0, i)), digitsIn(from, di - 1), Node.repeat(DIGIT, n - i - 1, n - i - 1), anyFraction(integer)));
        }
        if (integer) {
            if (!hi.exclusive) alts.add(Node.literal(b));
        } else if (!p.frac.isEmpty() || !hi.exclusive) {
            alts.add(Node.seq(Node.literal(b), fractionBelow(p.frac, !hi.exclusive)));
        }
        if (alts.isEmpty()) throw new IllegalStateException("no literal below " + hi.value);
        return Node.alt(alts);
    }

    /** Optional fractions (".digits" or none) whose value is > f (or >= f when {@code inclusive}). */
    private static Node fractionAbove(String f, boolean inclusive) {
        List<Node> alts = new ArrayList<>();
        int k = f.length();
        for (int i = 0; i < k; i++) {
            int di = f.charAt(i) - '0';
            if (di < 9) alts.add(Node.seq(Node.literal(f.substring(0, i)), digitsIn(di + 1, 9), DIGITS));
        }
        // f itself followed by zeros, then something nonzero.
        alts.add(Node.seq(Node.literal(f), Node.star(Node.literal("0")), digitsIn(1, 9), DIGITS));
        List<Node> outer = new ArrayList<>();
        outer.add(Node.seq(Node.literal("."), Node.alt(alts)));
        if (inclusive) {
            if (k == 0) {
                outer.add(Node.EMPTY);
                outer.add(Node.seq(Node.literal("."), Node.plus(Node.literal("0"))));
            } else {
                outer.add(Node.seq(Node.literal("." + f), Node.star(Node.literal("0"))));
            }
        }
        return Node.alt(outer);
    }

    /** Optional fractions whose value is < g (or <= g when {@code inclusive}). */
    private static Node fractionBelow(String g, boolean inclusive) {
        int k = g.length();
        List<Node> outer = new ArrayList<>();
        if (k > 0) {
            outer.add(Node.EMPTY); // no fraction: 0 < g
            List<Node> alts = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                int di = g.charAt(i) - '0';
                if (di > 0) alts.add(Node.seq(Node.literal(g.substring(0, i)), digitsIn(0, di - 1), DIGITS));
            }
            for (int j = 1; j < k; j++) alts.add(Node.literal(g.substring(0, j))); // a proper prefix, then implicit zeros
            if (!alts.isEmpty()) outer.add(Node.seq(Node.literal("."), Node.alt(alts)));
            if (inclusive) outer.add(Node.seq(Node.literal("." + g), Node.star(Node.literal("0"))));
        } else if (inclusive) {
            outer.add(Node.EMPTY);
            outer.add(Node.seq(Node.literal("."), Node.plus(Node.literal("0"))));
        }
        return Node.alt(outer);
    }
}
