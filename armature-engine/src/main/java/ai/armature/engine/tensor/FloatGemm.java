package ai.armature.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-tiled float micro-kernels for the matmul: a tile of 4 dequantized weight rows (stored {@code c} floats
 * apart) times 1, 2 or 4 activation vectors. The 4x4 kernel keeps 16 accumulators in registers and loads each weight
 * and activation lane once per 4 multiply-adds.
 */
final class FloatGemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final int L = F.length();

    private FloatGemm() {
    }

    /**
     * {@code y[yOff + j * rows + i] = dot(w row i, x vector j)} for i < nr, j < 4; weight row i starts at
     * {@code w[i * c]}, vector j at {@code x[xOff + j * c]}; {@code s} is a scratch of at least 16 floats.
     */
    static void kernel4x4(float[] w, int c, float[] x, int xOff, float[] y, int yOff, int rows, int nr, float[] s) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int w1 = c, w2 = 2 * c, w3 = 3 * c;
        int x1 = xOff + c, x2 = xOff + 2 * c, x3 = xOff + 3 * c;
        int upper = F.loopBound(c);
        int k = 0;
        for (; k < upper; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xOff + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + k);
            FloatVector r = FloatVector.fromArray(F, w, k);
            a00 = r.fma(v0, a00);
            a01 = r.fma(v1, a01);
            a02 = r.fma(v2, a02);
            a03 = r.fma(v3, a03);
            r = FloatVector.fromArray(F, w, w1 + k);
            a10 = r.fma(v0, a10);
            a11 = r.fma(v1, a11);
            a12 = r.fma(v2, a12);
            a13 = r.fma(v3, a13);
            r = FloatVector.fromArray(F, w, w2 + k);
            a20 = r.fma(v0, a20);
            a21 = r.fma(v1, a21);
            a22 = r.fma(v2, a22);
            a23 = r.fma(v3, a23);
            r = FloatVector.fromArray(F, w, w3 + k);
            a30 = r.fma(v0, a30);
            a31 = r.fma(v1, a31);
            a32 = r.fma(v2, a32);
            a33 = r.fma(v3, a33);
        }
        // s is a per-thread array of 16 sums (no allocation per tile).
        s[0] = a00.reduceLanes(VectorOperators.ADD);
        s[1] = a01.reduceLanes(VectorOperators.ADD);
        s[2] = a02.reduceLanes(VectorOperators.ADD);
        s[3] = a03.reduceLanes(VectorOperators.ADD);
        s[4] = a10.reduceLanes(VectorOperators.ADD);
        s[5] = a11.reduceLanes(VectorOperators.ADD);
        s[6] = a12.reduceLanes(VectorOperators.ADD);
        s[7] = a13.reduceLanes(VectorOperators.ADD);
        s[8] = a20.reduceLanes(VectorOperators.ADD);
        s[9] = a21.reduceLanes(VectorOperators.ADD);
        s[10] = a22.reduceLanes(VectorOperators.ADD);
        s[11] = a23.reduceLanes(VectorOperators.ADD);
        s[12] = a30.reduceLanes(VectorOperators.ADD);
        s[13] = a31.reduceLanes(VectorOperators.ADD);
        s[14] = a32.reduceLanes(VectorOperators.ADD);
        s[15] = a33.reduceLanes(VectorOperators.ADD);
        for (; k < c; k++) { // only F32/F16/BF16 rows have a length that is not a multiple of the vector
            for (int i = 0; i < 4; i++) {
                float wk = w[i * c + k];
                for (int j = 0; j < 4; j++) {
                    s[i * 4 + j] += wk * x[xOff + j * c + k];
                }
            }
        }
        for (int i = 0; i < nr; i++) {
            for (int j = 0; j < 4; j++) {
                y[yOff + j * rows + i] = s[i * 4 + j];
            }
        }
    }

    /**
     * {@code y[yOff + j * rows + i] = dot(w row i, x vector j)} for i < nr, j < 2: the remainder of a batch that is
     * not a multiple of 4 vectors takes this kernel (and {@link #kernel4x1} for a last odd vector), which loads each
     * weight lane once per 2 multiply-adds instead of once per 1.
     */
    static void kernel4x2(float[] w, int c, float[] x, int xOff, float[] y, int yOff, int rows, int nr) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x1 = xOff + c;
        int upper = F.loopBound(c);
        int k = 0;
        for (; k < upper; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xOff + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector r = FloatVector.fromArray(F, w, k);
            a00 = r.fma(v0, a00);
            a01 = r.fma(v1, a01);
            r = FloatVector.fromArray(F, w, c + k);
            a10 = r.fma(v0, a10);
            a11 = r.fma(v1, a11);
            r = FloatVector.fromArray(F, w, 2 * c + k);
            a20 = r.fma(v0, a20);
            a21 = r.fma(v1, a21);
            r = FloatVector.fromArray(F, w, 3 * c + k);
            a30 = r.fma(v0, a30);
            a31 = r.fma(v1, a31);
        }
        float s00 = a00.reduceLanes(VectorOperators.ADD), s01 = a01.reduceLanes(VectorOperators.ADD);
        float s10 = a10.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s20 = a20.reduceLanes(VectorOperators.ADD), s21 = a21.reduceLanes(VectorOperators.ADD);
        float s30 = a30.reduceLanes(VectorOperators.ADD), s31 = a31.reduceLanes(VectorOperators.ADD);
        for (; k < c; k++) { // only F32/F16/BF16 rows have a length that is not a multiple of the vector
            float x0k = x[xOff + k], x1k = x[x1 + k];
            s00 += w[k] * x0k;
            s01 += w[k] * x1k;
            s10 += w[c + k] * x0k;
            s11 += w[c + k] * x1k;
            s20 += w[2 * c + k] * x0k;
            s21 += w[2 * c + k] * x1k;
            s30 += w[3 * c + k] * x0k;
            s31 += w[3 * c + k] * x1k;
        }
        y[yOff] = s00;
        y[yOff + rows] = s01;
        if (nr > 1) {
            y[yOff + 1] = s10;
            y[yOff + rows + 1] = s11;
        }
        if (nr > 2) {
            y[yOff + 2] = s20;
            y[yOff + rows + 2] = s21;
        }
        if (nr > 3) {
            y[yOff + 3] = s30;
            y[yOff + rows + 3] = s31;
        }
    }

    /** {@code y[yOff + i] = dot(w row i, x[xOff ..])} for i < nr. */
    static void kernel4x1(float[] w, int c, float[] x, int xOff, float[] y, int yOff, int nr) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int upper = F.loopBound(c);
        int k = 0;
        for (; k < upper; k += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + k);
            a0 = FloatVector.fromArray(F, w, k).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, c + k).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, 2 * c + k).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, 3 * c + k).fma(v, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; k < c; k++) {
            float xk = x[xOff + k];
            s0 += w[k] * xk;
            s1 += w[c + k] * xk;
            s2 += w[2 * c + k] * xk;
            s3 += w[3 * c + k] * xk;
        }
        y[yOff] = s0;
        if (nr > 1) y[yOff + 1] = s1;
        if (nr > 2) y[yOff + 2] = s2;
        if (nr > 3) y[yOff + 3] = s3;
    }
}
