package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * VectorOps against plain loops, on lengths around the vector width (tails) and at non-zero offsets.
 * Element-wise operations (axpy, scale, add, rmsnorm's second pass, silu) round the same way as the scalar code up
 * to FMA contraction and the library exp (<= 1 ulp for Math.exp; the vector exp is within a few ulp), so they get
 * a few-ulp tolerance; reductions (dot, softmax's sum) differ only by summation order, bounded by
 * n * 2^-24 * sum|terms|.
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
}
