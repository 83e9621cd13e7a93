package ai.armature.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float-array primitives for the model code (norms, residuals, attention, activations), vectorized with scalar
 * tails. Every method works on {@code n} elements from the given offsets and allocates nothing.
 *
 * <p>Every result is a fixed function of the inputs, whichever HotSpot tier runs the code, so greedy decoding repeats
 * bit for bit. Two Vector API operations do not give that: {@code lanewise(EXP)} is {@code Math.exp} per lane in the
 * interpreter and C1 but a vector math library with other roundings once C2 compiles it, and a float
 * {@code reduceLanes(ADD)} adds the lanes in order in the interpreter and C1 but in a tree once C2 compiles it (on
 * fixed data, JDK 25 on AVX-512: 44 of 4096 exp lanes and 132 of 256 16-lane sums came out different before and
 * after C2). Hence {@link #exp(FloatVector)} (built only from exactly rounded operations) and
 * {@link #sumLanes(FloatVector)} (one fixed pairing of the lanes), which the weight kernels' float sums use too.
 */
public final class VectorOps {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorOps() {
    }

    /** Butterfly partners for {@link #sumLanes}: lane i meets lane i ^ d, per species of 4, 8 and 16 lanes. */
    private static final VectorShuffle<Float> X8_16 = xor(FloatVector.SPECIES_512, 8), X4_16 = xor(FloatVector.SPECIES_512, 4),
            X2_16 = xor(FloatVector.SPECIES_512, 2), X1_16 = xor(FloatVector.SPECIES_512, 1);
    private static final VectorShuffle<Float> X4_8 = xor(FloatVector.SPECIES_256, 4), X2_8 = xor(FloatVector.SPECIES_256, 2),
            X1_8 = xor(FloatVector.SPECIES_256, 1);
    private static final VectorShuffle<Float> X2_4 = xor(FloatVector.SPECIES_128, 2), X1_4 = xor(FloatVector.SPECIES_128, 1);

    private static VectorShuffle<Float> xor(VectorSpecies<Float> s, int d) {
        return VectorShuffle.fromOp(s, i -> i ^ d);
    }

    /**
     * The sum of {@code v}'s lanes in one fixed order, the same in every HotSpot tier: lanes {@code d} apart are
     * added pairwise for {@code d} = half the length down to 1 (lane i meets lane {@code i ^ d}; float addition is
     * commutative, so every lane holds the same partial sums), and lane 0 is the result. For 16 lanes that is
     * {@code (((v0+v8)+(v4+v12))+((v2+v10)+(v6+v14))) + (((v1+v9)+(v5+v13))+((v3+v11)+(v7+v15)))}. Each step is a
     * lane permutation and a lanewise add, which round the same way compiled or not (unlike {@code reduceLanes(ADD)},
     * whose order C2 leaves open). Costs about what C2's own reduction does: log2(length) shuffle-add pairs.
     */
    public static float sumLanes(FloatVector v) {
        return switch (v.length()) {
            case 16 -> fold(fold(fold(fold(v, X8_16), X4_16), X2_16), X1_16).lane(0);
            case 8 -> fold(fold(fold(v, X4_8), X2_8), X1_8).lane(0);
            case 4 -> fold(fold(v, X2_4), X1_4).lane(0);
            case 2 -> v.lane(0) + v.lane(1);
            default -> butterfly(v.toArray()); // wider (SVE) vectors: same order, allocating; no shuffles kept for them
        };
    }

    private static float butterfly(float[] w) {
        for (int d = w.length / 2; d >= 1; d /= 2) {
            float[] next = new float[w.length];
            for (int i = 0; i < w.length; i++) next[i] = w[i] + w[i ^ d];
            w = next;
        }
        return w[0];
    }

    private static FloatVector fold(FloatVector v, VectorShuffle<Float> partner) {
        return v.add(v.rearrange(partner));
    }

    // exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in [-0.35, 0.35].
    private static final float EXP_MIN = -104f; // below: exp rounds to 0 (2^-150 is half the least subnormal)
    private static final float EXP_MAX = 89f; // above 88.7228: exp overflows to infinity
    private static final float LOG2E = (float) (1 / Math.log(2));
    private static final float ROUND = 0x1.8p23f; // adding it rounds |v| < 2^22 to an integer in the low mantissa bits
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float LN2_HI = (float) Math.log(2);
    private static final float LN2_LO = (float) (Math.log(2) - LN2_HI);
    // Taylor coefficients 1/k! (k = 2..7): on |r| <= 0.35 the truncation is below 6e-9 of the result.
    private static final float C2 = 1f / 2, C3 = (float) (1.0 / 6), C4 = (float) (1.0 / 24), C5 = (float) (1.0 / 120),
            C6 = (float) (1.0 / 720), C7 = (float) (1.0 / 5040);

    /**
     * {@code e^x} per lane, from exactly rounded operations only (fma, add, multiply, compare and blend, and integer
     * bit operations), so the result does not depend on which HotSpot tier runs it, and lane for lane equal to
     * {@link #exp(float)}. {@code n ln 2} is taken off in two fma steps (the first exact), {@code e^r} is a degree-7
     * polynomial in Horner form and {@code 2^n} is applied as two powers of two, so results round correctly into
     * the subnormal range and overflow to infinity above 88.72. Within 1 ulp of the exact result on {@code [-104, 89]}
     * ({@code VectorOpsTest}: at most 0.92 ulp over every 61st float of that range and {@code [-20, 20]} in steps of
     * 2^-16, 39 million values); 0 below -104, infinity above 89, NaN for NaN.
     */
    public static FloatVector exp(FloatVector x) {
        // Clamped by compare and blend: Java's max/min semantics (NaN, -0) cost C2 several instructions more; NaN stays NaN.
        FloatVector c = x.blend(EXP_MIN, x.compare(VectorOperators.LT, EXP_MIN));
        c = c.blend(EXP_MAX, c.compare(VectorOperators.GT, EXP_MAX));
        FloatVector t = c.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(c.broadcast(-LN2_HI), c);
        r = n.fma(c.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, r.broadcast(C5));
        p = p.fma(r, r.broadcast(C4));
        p = p.fma(r, r.broadcast(C3));
        p = p.fma(r, r.broadcast(C2));
        FloatVector one = r.broadcast(1f);
        p = p.fma(r, one);
        p = p.fma(r, one);
        IntVector ni = t.reinterpretAsInts().sub(ROUND_BITS);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /** {@code e^x}, the same operations as {@link #exp(FloatVector)} on one value (bit-identical to its lanes). */
    public static float exp(float x) {
        float c = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float t = Math.fma(c, LOG2E, ROUND);
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, c);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int ni = Float.floatToRawIntBits(t) - ROUND_BITS;
        int n1 = ni >> 1;
        int n2 = ni - n1;
        return p * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n2 + 127) << 23);
    }

    /** {@code sum(a[aOff + i] * b[bOff + i])}. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = acc0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            acc0 = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(S, a, aOff + i + L).fma(FloatVector.fromArray(S, b, bOff + i + L), acc1);
        }
        for (; i + L <= n; i += L) {
            acc0 = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc0);
        }
        float sum = sumLanes(acc0.add(acc1));
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** {@code y[yOff + i] += a * x[xOff + i]}. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.broadcast(S, a), FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** {@code x[off + i] *= s}. */
    public static void scale(float[] x, int off, float s, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(s).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    /** {@code y[yOff + i] += x[xOff + i]} (residual add). */
    public static void add(float[] y, int yOff, float[] x, int xOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, y, yOff + i).add(FloatVector.fromArray(S, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /**
     * RMS norm: {@code out[outOff + i] = x[xOff + i] / sqrt(mean(x^2) + eps) * weight[wOff + i]}; {@code out} may be
     * {@code x} at the same offset.
     */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int wOff, float eps, int n) {
        float ss = dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, xOff + i).mul(inv).mul(FloatVector.fromArray(S, weight, wOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[wOff + i];
        }
    }

    /** The largest of {@code x[off .. off + n)}; n must be positive. */
    public static float max(float[] x, int off, int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("max of an empty range");
        }
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector acc = FloatVector.fromArray(S, x, off);
            for (i = L; i + L <= n; i += L) {
                acc = acc.max(FloatVector.fromArray(S, x, off + i));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    /** {@code x[off + i] = exp(x[off + i] - m)} in place; returns their sum (the online softmax's tile step). */
    public static float expShifted(float[] x, int off, int n, float m) {
        FloatVector sumV = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, off + i).sub(m));
            e.intoArray(x, off + i);
            sumV = sumV.add(e);
        }
        float sum = sumLanes(sumV);
        for (; i < n; i++) {
            float e = exp(x[off + i] - m);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /** Softmax of {@code x[off .. off + n)} in place (max-subtracted, so large logits do not overflow). */
    public static void softmax(float[] x, int off, int n) {
        float m = max(x, off, n);
        FloatVector sumV = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, off + i).sub(m));
            e.intoArray(x, off + i);
            sumV = sumV.add(e);
        }
        float sum = sumLanes(sumV);
        for (; i < n; i++) {
            float e = exp(x[off + i] - m);
            x[off + i] = e;
            sum += e;
        }
        scale(x, off, 1f / sum, n);
    }

    /** SwiGLU gate: {@code gate[gOff + i] = silu(gate[gOff + i]) * up[uOff + i]}, with silu(g) = g / (1 + e^-g). */
    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector g = FloatVector.fromArray(S, gate, gOff + i);
            FloatVector silu = g.div(exp(g.neg()).add(1f));
            silu.mul(FloatVector.fromArray(S, up, uOff + i)).intoArray(gate, gOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + exp(-g)) * up[uOff + i];
        }
    }
}
