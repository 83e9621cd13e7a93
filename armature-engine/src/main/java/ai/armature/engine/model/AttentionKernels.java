package ai.armature.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two products of attention over one KV head's gathered keys and values (layouts as {@link KvCache} gathers
 * them). Scores take 16 positions per vector: with keys dimension-major, position lanes are contiguous, so each
 * dimension is one load and one multiply-add per query head, and no position needs a horizontal sum (a per-position
 * dot product spent more on its reduction than on its multiply-adds at head size 64). The weighted sum of values
 * keeps its accumulators in registers across positions instead of updating the output once per position.
 */
final class AttentionKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final int L = 16;

    private AttentionKernels() {
    }

    /**
     * {@code out[outOff + h * cap + p] = scale * dot(q[qOff + h * hd ..], key p)} for {@code h < heads} (1 to 4 query heads
     * sharing this KV head) and {@code p < len}, with keys as {@link KvCache#gatherKeys} lays them out for block
     * size {@code bs}. Lanes past {@code len} inside the last block may be written too; {@code cap} is at least the
     * number of gathered slots.
     */
    static void scores(float[] keys, int bs, int hd, int len, float[] q, int qOff, int heads, float[] out, int outOff, int cap, float scale) {
        int blocks = (len + bs - 1) / bs;
        int pendingK = -1, pendingP = 0; // a 16-position chunk waiting for a partner (chunks go in pairs)
        for (int b = 0; b < blocks; b++) {
            int kb = b * hd * bs;
            int p0 = b * bs;
            int valid = Math.min(bs, len - p0);
            int t = 0;
            for (; t + L <= bs && t < valid; t += L) {
                if (pendingK < 0) {
                    pendingK = kb + t;
                    pendingP = p0 + t;
                } else {
                    scores32(keys, pendingK, kb + t, bs, hd, q, qOff, heads, out, outOff + pendingP, outOff + p0 + t, cap, scale);
                    pendingK = -1;
                }
            }
            for (; t < valid; t++) {
                for (int h = 0; h < heads; h++) {
                    float s = 0;
                    int qh = qOff + h * hd;
                    for (int d = 0; d < hd; d++) s += keys[kb + d * bs + t] * q[qh + d];
                    out[outOff + h * cap + p0 + t] = s * scale;
                }
            }
        }
        if (pendingK >= 0) scores16(keys, pendingK, bs, hd, q, qOff, heads, out, outOff + pendingP, cap, scale);
    }

    /**
     * Scores of two 16-position chunks (keys from {@code k} and {@code k2}, written at {@code p} and {@code p2}):
     * twice the independent multiply-add chains of {@link #scores16}, which hides the FMA latency even with one
     * query head per KV head.
     */
    private static void scores32(float[] keys, int k, int k2, int stride, int hd, float[] q, int qOff, int heads, float[] out, int p, int p2, int cap, float scale) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int q1 = qOff + hd, q2 = qOff + 2 * hd, q3 = qOff + 3 * hd;
        for (int d = 0; d < hd; d++, k += stride, k2 += stride) {
            FloatVector ka = FloatVector.fromArray(F, keys, k);
            FloatVector kb = FloatVector.fromArray(F, keys, k2);
            FloatVector w = FloatVector.broadcast(F, q[qOff + d]);
            a0 = ka.fma(w, a0);
            b0 = kb.fma(w, b0);
            if (heads > 1) {
                w = FloatVector.broadcast(F, q[q1 + d]);
                a1 = ka.fma(w, a1);
                b1 = kb.fma(w, b1);
            }
            if (heads > 2) {
                w = FloatVector.broadcast(F, q[q2 + d]);
                a2 = ka.fma(w, a2);
                b2 = kb.fma(w, b2);
            }
            if (heads > 3) {
                w = FloatVector.broadcast(F, q[q3 + d]);
                a3 = ka.fma(w, a3);
                b3 = kb.fma(w, b3);
            }
        }
        a0.mul(scale).intoArray(out, p);
        b0.mul(scale).intoArray(out, p2);
        if (heads > 1) {
            a1.mul(scale).intoArray(out, cap + p);
            b1.mul(scale).intoArray(out, cap + p2);
        }
        if (heads > 2) {
            a2.mul(scale).intoArray(out, 2 * cap + p);
            b2.mul(scale).intoArray(out, 2 * cap + p2);
        }
        if (heads > 3) {
            a3.mul(scale).intoArray(out, 3 * cap + p);
            b3.mul(scale).intoArray(out, 3 * cap + p2);
        }
    }

    /** Scores of the 16 positions whose dimension-0 keys start at {@code k}, dimensions {@code stride} apart. */
    private static void scores16(float[] keys, int k, int stride, int hd, float[] q, int qOff, int heads, float[] out, int p, int cap, float scale) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int q1 = qOff + hd, q2 = qOff + 2 * hd, q3 = qOff + 3 * hd;
        for (int d = 0; d < hd; d++, k += stride) {
            FloatVector kv = FloatVector.fromArray(F, keys, k);
            a0 = kv.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
            if (heads > 1) a1 = kv.fma(FloatVector.broadcast(F, q[q1 + d]), a1);
            if (heads > 2) a2 = kv.fma(FloatVector.broadcast(F, q[q2 + d]), a2);
            if (heads > 3) a3 = kv.fma(FloatVector.broadcast(F, q[q3 + d]), a3);
        }
        a0.mul(scale).intoArray(out, p);
        if (heads > 1) a1.mul(scale).intoArray(out, cap + p);
        if (heads > 2) a2.mul(scale).intoArray(out, 2 * cap + p);
        if (heads > 3) a3.mul(scale).intoArray(out, 3 * cap + p);
    }

    /**
     * {@code out[outOff + d] = sum over p < len of w[wOff + p] * values[p * hd + d]} for every {@code d < hd}
     * (values position-major, as {@link KvCache#gatherValues} lays them out).
     */
    static void weightedSum(float[] w, int wOff, float[] values, int len, int hd, float[] out, int outOff) {
        int d = 0;
        for (; d + 4 * L <= hd; d += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int p = 0, v = d; p < len; p++, v += hd) {
                FloatVector wp = FloatVector.broadcast(F, w[wOff + p]);
                a0 = FloatVector.fromArray(F, values, v).fma(wp, a0);
                a1 = FloatVector.fromArray(F, values, v + L).fma(wp, a1);
                a2 = FloatVector.fromArray(F, values, v + 2 * L).fma(wp, a2);
                a3 = FloatVector.fromArray(F, values, v + 3 * L).fma(wp, a3);
            }
            a0.intoArray(out, outOff + d);
            a1.intoArray(out, outOff + d + L);
            a2.intoArray(out, outOff + d + 2 * L);
            a3.intoArray(out, outOff + d + 3 * L);
        }
        for (; d + L <= hd; d += L) {
            FloatVector a = FloatVector.zero(F);
            for (int p = 0, v = d; p < len; p++, v += hd) {
                a = FloatVector.fromArray(F, values, v).fma(FloatVector.broadcast(F, w[wOff + p]), a);
            }
            a.intoArray(out, outOff + d);
        }
        for (; d < hd; d++) {
            float s = 0;
            for (int p = 0; p < len; p++) s += w[wOff + p] * values[p * hd + d];
            out[outOff + d] = s;
        }
    }
}
