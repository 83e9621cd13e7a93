package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * VectorOps against plain loops, on lengths around the vector width (tails) and at non-zero offsets.
 * Element-wise operations (axpy, scale, add, rmsnorm's second pass, silu) round the same way as the scalar code up
 * to FMA contraction and VectorOps.exp (within 1 ulp, tested below), so they get a few-ulp tolerance; reductions
 * (dot, softmax's sum) differ only by summation order, bounded by n * 2^-24 * sum|terms|. The exp and the lane sum
 * are also tested for giving the same bits compiled or not (the engine's run-to-run reproducibility rests on it).
 */
class VectorOpsTest {
    private static final int[] LENGTHS = {1, 3, 8, 15, 16, 17, 31, 33, 64, 100, 257};

    @Test
    void dotAxpyScaleAddMatchScalar() {
        Random rnd = new Random(3);
        for (int n : LENGTHS) {
            float[] a = Reference.randomFloats(n + 3, rnd);
            float[] b = Reference.randomFloats(n + 5, rnd);
            double ref = 0;
            double abs = 0;
            for (int i = 0; i < n; i++) {
                ref += (double) a[3 + i] * b[5 + i];
                abs += Math.abs((double) a[3 + i] * b[5 + i]);
            }
            assertThat((double) VectorOps.dot(a, 3, b, 5, n)).isCloseTo(ref, within(n * 0x1p-24 * abs + 1e-7));

            float[] y = b.clone();
            VectorOps.axpy(0.75f, a, 3, y, 5, n);
            for (int i = 0; i < n; i++) {
                assertThat(y[5 + i]).isCloseTo(b[5 + i] + 0.75f * a[3 + i], within(2 * Math.ulp(Math.abs(b[5 + i]) + Math.abs(a[3 + i]))));
            }
            for (int i = 0; i < 5; i++) {
                assertThat(y[i]).isEqualTo(b[i]);
            }

            float[] s = a.clone();
            VectorOps.scale(s, 3, -1.5f, n);
            for (int i = 0; i < n; i++) {
                assertThat(s[3 + i]).isEqualTo(a[3 + i] * -1.5f);
            }

            float[] sum = b.clone();
            VectorOps.add(sum, 5, a, 3, n);
            for (int i = 0; i < n; i++) {
                assertThat(sum[5 + i]).isEqualTo(b[5 + i] + a[3 + i]);
            }
        }
    }

    @Test
    void expShiftedMatchesScalarAndReturnsTheSum() {
        Random rnd = new Random(5);
        for (int n : LENGTHS) {
            float[] x = Reference.randomFloats(n + 2, rnd);
            float[] e = x.clone();
            float m = 1.25f;
            float sum = VectorOps.expShifted(e, 2, n, m);
            double ref = 0;
            for (int i = 0; i < n; i++) {
                double v = Math.exp((double) x[2 + i] - m);
                ref += v;
                assertThat((double) e[2 + i]).isCloseTo(v, within(4e-7 * v + 1e-30));
            }
            assertThat((double) sum).isCloseTo(ref, within(n * 1e-6 * ref + 1e-30));
            assertThat(e[0]).isEqualTo(x[0]);
            assertThat(e[1]).isEqualTo(x[1]);
        }
    }

    @Test
    void rmsnormMaxSoftmaxSiluMatchScalar() {
        Random rnd = new Random(4);
        for (int n : LENGTHS) {
            float[] x = Reference.randomFloats(n + 2, rnd);
            float[] w = Reference.randomFloats(n + 1, rnd);
            float[] out = new float[n + 4];
            VectorOps.rmsnorm(out, 4, x, 2, w, 1, 1e-5f, n);
            double ss = 0;
            for (int i = 0; i < n; i++) {
                ss += (double) x[2 + i] * x[2 + i];
            }
            double inv = 1 / Math.sqrt(ss / n + 1e-5);
            for (int i = 0; i < n; i++) {
                double expected = x[2 + i] * inv * w[1 + i];
                assertThat((double) out[4 + i]).isCloseTo(expected, within(1e-5 * Math.abs(expected) + 1e-7));
            }
            float[] inPlace = x.clone();
            VectorOps.rmsnorm(inPlace, 2, inPlace, 2, w, 1, 1e-5f, n);
            for (int i = 0; i < n; i++) {
                assertThat(inPlace[2 + i]).isEqualTo(out[4 + i]);
            }

            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, x[2 + i]);
            }
            assertThat(VectorOps.max(x, 2, n)).isEqualTo(max);

            float[] logits = x.clone();
            for (int i = 0; i < n; i++) {
                logits[2 + i] *= 30; // large logits: must not overflow
            }
            float[] p = logits.clone();
            VectorOps.softmax(p, 2, n);
            double z = 0;
            for (int i = 0; i < n; i++) {
                z += Math.exp(logits[2 + i] - 30 * max);
            }
            double total = 0;
            for (int i = 0; i < n; i++) {
                double expected = Math.exp(logits[2 + i] - 30 * max) / z;
                assertThat((double) p[2 + i]).isCloseTo(expected, within(1e-6 * expected + 1e-9));
                total += p[2 + i];
            }
            assertThat(total).isCloseTo(1.0, within(1e-5));
            assertThat(p[0]).isEqualTo(logits[0]);

            float[] gate = x.clone();
            float[] up = w.clone();
            VectorOps.siluMul(gate, 2, up, 1, n);
            for (int i = 0; i < n; i++) {
                double g = x[2 + i];
                double expected = g / (1 + Math.exp(-g)) * w[1 + i];
                assertThat((double) gate[2 + i]).isCloseTo(expected, within(1e-6 * Math.abs(expected) + 1e-7));
            }
        }
    }

    /** Error of {@code e^x} as computed, in units of the last place of the exact result (from double Math.exp). */
    private static double ulpError(float actual, float x) {
        double exact = Math.exp(x);
        float rounded = (float) exact;
        double ulp = Float.isInfinite(rounded) ? Math.ulp(Float.MAX_VALUE) : Math.ulp(rounded);
        if (Float.isInfinite(actual) && Float.isInfinite(rounded)) return 0;
        return Math.abs(actual - exact) / ulp;
    }

    /**
     * The vector exp against Math.exp: every 61st float of [-104, 89] by bit pattern (all magnitudes, 37 million values)
     * and [-20, 20] in steps of 2^-16 (SiLU's and most of softmax's inputs); lane for lane bit-identical to the scalar
     * exp, and within 1 ulp of the exact result. The sweep runs long enough for C2 to compile it.
     */
    @Test
    void expIsWithinOneUlpAndTheVectorAndScalarFormsAgreeBitForBit() {
        VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
        float[] x = new float[s.length() * 1024];
        float[] v = new float[x.length];
        double[] worst = {0, Double.NaN};
        long[] count = {0};
        java.util.function.IntConsumer check = filled -> {
            for (int i = 0; i < filled; i += s.length()) {
                VectorOps.exp(FloatVector.fromArray(s, x, i)).intoArray(v, i);
            }
            for (int i = 0; i < filled; i++) {
                float scalar = VectorOps.exp(x[i]);
                if (Float.floatToRawIntBits(scalar) != Float.floatToRawIntBits(v[i])) {
                    throw new AssertionError("exp(" + x[i] + "): vector " + v[i] + ", scalar " + scalar);
                }
                double e = ulpError(v[i], x[i]);
                if (e > worst[0]) {
                    worst[0] = e;
                    worst[1] = x[i];
                }
            }
            count[0] += filled;
        };
        int n = 0;
        int[] ends = {Float.floatToRawIntBits(104f), Float.floatToRawIntBits(89f)};
        for (int sign = 0; sign < 2; sign++) {
            for (int bits = 0; bits <= ends[sign]; bits += 61) {
                x[n++] = sign == 0 ? -Float.intBitsToFloat(bits & 0x7FFFFFFF) : Float.intBitsToFloat(bits);
                if (n == x.length) {
                    check.accept(n);
                    n = 0;
                }
            }
        }
        for (float t = -20f; t <= 20f; t += 0x1p-16f) {
            x[n++] = t;
            if (n == x.length) {
                check.accept(n);
                n = 0;
            }
        }
        check.accept(n - n % s.length());
        System.out.printf("exp: max error %.3f ulp at x = %s over %d values%n", worst[0], worst[1], count[0]);
        assertThat(count[0]).isGreaterThan(35_000_000L);
        assertThat(worst[0]).isLessThanOrEqualTo(1.0);
    }

    @Test
    void expHandlesTheEdgesOfTheFloatRange() {
        float[] edge = {0f, -0f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 88.72f, 88.73f, 89f, 1000f,
                -87.3f, -100f, -103.2f, -103.9f, -104f, -105f, -1e30f, Float.MIN_VALUE, -Float.MIN_VALUE};
        for (float x : edge) {
            float expected = (float) Math.exp(x);
            float actual = VectorOps.exp(x);
            if (Float.isNaN(expected) || Float.isInfinite(expected) || expected == 0 || expected == 1) {
                assertThat(Float.floatToIntBits(actual)).as("exp(%s) = %s", x, actual).isEqualTo(Float.floatToIntBits(expected));
            } else {
                assertThat(ulpError(actual, x)).as("exp(%s) = %s, Math.exp %s", x, actual, expected).isLessThanOrEqualTo(1.0);
            }
            float[] lanes = new float[FloatVector.SPECIES_PREFERRED.length()];
            java.util.Arrays.fill(lanes, x);
            float lane = VectorOps.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0)).lane(3);
            assertThat(Float.floatToIntBits(lane)).as("vector exp(%s)", x).isEqualTo(Float.floatToIntBits(actual)); // any NaN is NaN
        }
    }

    /** The fixed order sumLanes documents: lanes d apart added for d = length / 2 .. 1, then lane 0. */
    private static float butterfly(float[] a, int off, int len) {
        float[] w = java.util.Arrays.copyOfRange(a, off, off + len);
        for (int d = len / 2; d >= 1; d /= 2) {
            float[] next = new float[len];
            for (int i = 0; i < len; i++) next[i] = w[i] + w[i ^ d];
            w = next;
        }
        return w[0];
    }

    /**
     * sumLanes against the scalar butterfly, bit for bit, on the first calls and after enough calls that C2 compiled
     * this loop with it inlined, for 16, 8 and 4 lanes; on terms of widely spread magnitudes, where the order shows
     * (in-order sums differ from the butterfly on most of them, so a helper that summed in another order would fail).
     */
    @Test
    void sumLanesAddsInOneFixedOrderColdAndCompiled() {
        Random rnd = new Random(11);
        float[] a = new float[16 * 4096];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(40) - 20));
        }
        for (VectorSpecies<Float> s : java.util.List.of(FloatVector.SPECIES_512, FloatVector.SPECIES_256, FloatVector.SPECIES_128)) {
            int len = s.length();
            int vectors = a.length / len;
            float[] expected = new float[vectors];
            int orderShows = 0;
            for (int v = 0; v < vectors; v++) {
                expected[v] = butterfly(a, v * len, len);
                float inOrder = 0;
                for (int i = 0; i < len; i++) inOrder += a[v * len + i];
                if (Float.floatToRawIntBits(inOrder) != Float.floatToRawIntBits(expected[v])) orderShows++;
            }
            System.out.printf("sumLanes, %d lanes: in-order sums differ on %d of %d vectors%n", len, orderShows, vectors);
            assertThat(orderShows).as("%d lanes: vectors whose in-order sum differs", len).isGreaterThan(vectors / 10);
            for (int round = 0; round < 60; round++) { // 60 x 4096+ calls: the first ones cold, the last ones C2
                for (int v = 0; v < vectors; v++) {
                    float got = VectorOps.sumLanes(FloatVector.fromArray(s, a, v * len));
                    if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(expected[v])) {
                        throw new AssertionError(len + " lanes, round " + round + ", vector " + v + ": " + got + " != " + expected[v]);
                    }
                }
            }
        }
    }
}
