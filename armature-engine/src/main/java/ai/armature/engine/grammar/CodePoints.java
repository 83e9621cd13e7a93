package ai.armature.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets of Unicode code points as sorted disjoint ranges, and their UTF-8 encodings as byte-range expressions
 * (one alternative per run of equal encoded length whose trailing bytes span whole continuation ranges), so that
 * grammars over characters become grammars over the bytes tokens are made of. Surrogates are never included:
 * they are not characters and have no UTF-8 form.
 */
final class CodePoints {

    static final int MAX = 0x10FFFF;

    /** Ranges as {lo, hi} pairs, sorted and disjoint. */
    final List<int[]> ranges;

    private CodePoints(List<int[]> ranges) {
        this.ranges = ranges;
    }

    static CodePoints of(int... pairs) {
        List<int[]> r = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) r.add(new int[] {pairs[i], pairs[i + 1]});
        return normalize(r);
    }

    static CodePoints all() {
        return of(0, MAX);
    }

    static CodePoints normalize(List<int[]> in) {
        List<int[]> r = new ArrayList<>();
        for (int[] x : in) if (x[0] <= x[1]) r.add(new int[] {x[0], x[1]});
        r.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] x : r) {
            if (!merged.isEmpty() && merged.getLast()[1] + 1 >= x[0]) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], x[1]);
            } else {
                merged.add(x);
            }
        }
        // Remove surrogates.
        List<int[]> out = new ArrayList<>();
        for (int[] x : merged) {
            if (x[1] < 0xD800 || x[0] > 0xDFFF) {
                out.add(x);
            } else {
                if (x[0] < 0xD800) out.add(new int[] {x[0], 0xD7FF});
                if (x[1] > 0xDFFF) out.add(new int[] {0xE000, x[1]});
            }
        }
        return new CodePoints(out);
    }

    CodePoints union(CodePoints o) {
        List<int[]> r = new ArrayList<>(ranges);
        r.addAll(o.ranges);
        return normalize(r);
    }

    CodePoints complement() {
        List<int[]> r = new ArrayList<>();
        int from = 0;
        for (int[] x : ranges) {
            if (x[0] > from) r.add(new int[] {from, x[0] - 1});
            from = x[1] + 1;
        }
        if (from <= MAX) r.add(new int[] {from, MAX});
        return normalize(r);
    }

    CodePoints minus(CodePoints o) {
        return complement().union(o).complement();
    }

    boolean contains(int cp) {
        for (int[] x : ranges) if (x[0] <= cp && cp <= x[1]) return true;
        return false;
    }

    boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** One character of this set, as UTF-8 bytes. */
    Node utf8() {
        List<Node> alts = new ArrayList<>();
        for (int[] x : ranges) encodeRange(x[0], x[1], alts);
        if (alts.isEmpty()) throw new IllegalStateException("empty character set");
        return Node.alt(alts);
    }

    private static final int[] LENGTH_LIMITS = {0x7F, 0x7FF, 0xFFFF, MAX};

    private static void encodeRange(int lo, int hi, List<Node> out) {
        if (lo > hi) return;
        for (int limit : LENGTH_LIMITS) {
            if (lo <= limit && hi > limit) {
                encodeRange(lo, limit, out);
                encodeRange(limit + 1, hi, out);
                return;
            }
        }
        if (hi <= 0x7F) {
            out.add(Node.bytes(lo, hi));
            return;
        }
        int n = hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4;
        for (int i = 1; i < n; i++) {
            int mask = (1 << (6 * i)) - 1;
            if ((lo & ~mask) != (hi & ~mask)) {
                if ((lo & mask) != 0) {
                    encodeRange(lo, lo | mask, out);
                    encodeRange((lo | mask) + 1, hi, out);
                    return;
                }
                if ((hi & mask) != mask) {
                    encodeRange(lo, (hi & ~mask) - 1, out);
                    encodeRange(hi & ~mask, hi, out);
                    return;
                }
            }
        }
        byte[] a = new String(Character.toChars(lo)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] b = new String(Character.toChars(hi)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        List<Node> seq = new ArrayList<>(n);
        for (int i = 0; i < n; i++) seq.add(Node.bytes(a[i] & 0xff, b[i] & 0xff));
        out.add(Node.seq(seq));
    }
}
