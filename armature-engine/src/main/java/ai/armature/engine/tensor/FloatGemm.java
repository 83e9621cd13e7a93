package ai.armature.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-tiled float micro-kernels for the matmul. Prompt-sized batches: a packed panel of 32 dequantized rows
 * ({@link #pack}: one vector per 16 rows at each k) times 12, 8, 4 or 1 activation vectors by outer products
 * ({@link #panel12}), whose accumulators are the outputs. Smaller batches: a tile of 4 dequantized weight rows (stored
 * {@code c} floats apart) times 1, 2 or 4 activation vectors as dot products; the 4x4 kernel keeps 16 accumulators in
 * registers and loads each weight and activation lane once per 4 multiply-adds, then sums each across its lanes.
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
        s[0] = VectorOps.sumLanes(a00);
        s[1] = VectorOps.sumLanes(a01);
        s[2] = VectorOps.sumLanes(a02);
        s[3] = VectorOps.sumLanes(a03);
        s[4] = VectorOps.sumLanes(a10);
        s[5] = VectorOps.sumLanes(a11);
        s[6] = VectorOps.sumLanes(a12);
        s[7] = VectorOps.sumLanes(a13);
        s[8] = VectorOps.sumLanes(a20);
        s[9] = VectorOps.sumLanes(a21);
        s[10] = VectorOps.sumLanes(a22);
        s[11] = VectorOps.sumLanes(a23);
        s[12] = VectorOps.sumLanes(a30);
        s[13] = VectorOps.sumLanes(a31);
        s[14] = VectorOps.sumLanes(a32);
        s[15] = VectorOps.sumLanes(a33);
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
        float s00 = VectorOps.sumLanes(a00), s01 = VectorOps.sumLanes(a01);
        float s10 = VectorOps.sumLanes(a10), s11 = VectorOps.sumLanes(a11);
        float s20 = VectorOps.sumLanes(a20), s21 = VectorOps.sumLanes(a21);
        float s30 = VectorOps.sumLanes(a30), s31 = VectorOps.sumLanes(a31);
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
        float s0 = VectorOps.sumLanes(a0);
        float s1 = VectorOps.sumLanes(a1);
        float s2 = VectorOps.sumLanes(a2);
        float s3 = VectorOps.sumLanes(a3);
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

    /** Rows per packed panel: two vectors, one per 16 rows, at each k. */
    static final int PANEL = 32;

    /**
     * Transposes a tile of {@link #PANEL} rows stored {@code c} floats apart ({@code w[i * c + k]}) into the packed
     * panel {@code p[k * PANEL + i]}: each 16 x 16 block in registers (four rounds of two-vector permutes, each
     * swapping the off-diagonal sub-blocks of one size: 8, 4, 2, 1), so no gathers (slow where microcode mitigates
     * them) and no scalar stores but for the last {@code c % 16} columns.
     */
    static void pack(float[] w, int c, float[] p) {
        int kv = c & ~(L - 1);
        for (int h = 0; h < PANEL; h += L) {
            int base = h * c;
            for (int k0 = 0; k0 < kv; k0 += L) {
                int o = base + k0;
                FloatVector t0 = FloatVector.fromArray(F, w, o), t1 = FloatVector.fromArray(F, w, o + 1 * c), t2 = FloatVector.fromArray(F, w, o + 2 * c), t3 = FloatVector.fromArray(F, w, o + 3 * c), t4 = FloatVector.fromArray(F, w, o + 4 * c), t5 = FloatVector.fromArray(F, w, o + 5 * c), t6 = FloatVector.fromArray(F, w, o + 6 * c), t7 = FloatVector.fromArray(F, w, o + 7 * c), t8 = FloatVector.fromArray(F, w, o + 8 * c), t9 = FloatVector.fromArray(F, w, o + 9 * c), t10 = FloatVector.fromArray(F, w, o + 10 * c), t11 = FloatVector.fromArray(F, w, o + 11 * c), t12 = FloatVector.fromArray(F, w, o + 12 * c), t13 = FloatVector.fromArray(F, w, o + 13 * c), t14 = FloatVector.fromArray(F, w, o + 14 * c), t15 = FloatVector.fromArray(F, w, o + 15 * c);
                FloatVector u;
                u = t0.rearrange(LO8, t8);
                t8 = t0.rearrange(HI8, t8);
                t0 = u;
                u = t1.rearrange(LO8, t9);
                t9 = t1.rearrange(HI8, t9);
                t1 = u;
                u = t2.rearrange(LO8, t10);
                t10 = t2.rearrange(HI8, t10);
                t2 = u;
                u = t3.rearrange(LO8, t11);
                t11 = t3.rearrange(HI8, t11);
                t3 = u;
                u = t4.rearrange(LO8, t12);
                t12 = t4.rearrange(HI8, t12);
                t4 = u;
                u = t5.rearrange(LO8, t13);
                t13 = t5.rearrange(HI8, t13);
                t5 = u;
                u = t6.rearrange(LO8, t14);
                t14 = t6.rearrange(HI8, t14);
                t6 = u;
                u = t7.rearrange(LO8, t15);
                t15 = t7.rearrange(HI8, t15);
                t7 = u;
                u = t0.rearrange(LO4, t4);
                t4 = t0.rearrange(HI4, t4);
                t0 = u;
                u = t1.rearrange(LO4, t5);
                t5 = t1.rearrange(HI4, t5);
                t1 = u;
                u = t2.rearrange(LO4, t6);
                t6 = t2.rearrange(HI4, t6);
                t2 = u;
                u = t3.rearrange(LO4, t7);
                t7 = t3.rearrange(HI4, t7);
                t3 = u;
                u = t8.rearrange(LO4, t12);
                t12 = t8.rearrange(HI4, t12);
                t8 = u;
                u = t9.rearrange(LO4, t13);
                t13 = t9.rearrange(HI4, t13);
                t9 = u;
                u = t10.rearrange(LO4, t14);
                t14 = t10.rearrange(HI4, t14);
                t10 = u;
                u = t11.rearrange(LO4, t15);
                t15 = t11.rearrange(HI4, t15);
                t11 = u;
                u = t0.rearrange(LO2, t2);
                t2 = t0.rearrange(HI2, t2);
                t0 = u;
                u = t1.rearrange(LO2, t3);
                t3 = t1.rearrange(HI2, t3);
                t1 = u;
                u = t4.rearrange(LO2, t6);
                t6 = t4.rearrange(HI2, t6);
                t4 = u;
                u = t5.rearrange(LO2, t7);
                t7 = t5.rearrange(HI2, t7);
                t5 = u;
                u = t8.rearrange(LO2, t10);
                t10 = t8.rearrange(HI2, t10);
                t8 = u;
                u = t9.rearrange(LO2, t11);
                t11 = t9.rearrange(HI2, t11);
                t9 = u;
                u = t12.rearrange(LO2, t14);
                t14 = t12.rearrange(HI2, t14);
                t12 = u;
                u = t13.rearrange(LO2, t15);
                t15 = t13.rearrange(HI2, t15);
                t13 = u;
                u = t0.rearrange(LO1, t1);
                t1 = t0.rearrange(HI1, t1);
                t0 = u;
                u = t2.rearrange(LO1, t3);
                t3 = t2.rearrange(HI1, t3);
                t2 = u;
                u = t4.rearrange(LO1, t5);
                t5 = t4.rearrange(HI1, t5);
                t4 = u;
                u = t6.rearrange(LO1, t7);
                t7 = t6.rearrange(HI1, t7);
                t6 = u;
                u = t8.rearrange(LO1, t9);
                t9 = t8.rearrange(HI1, t9);
                t8 = u;
                u = t10.rearrange(LO1, t11);
                t11 = t10.rearrange(HI1, t11);
                t10 = u;
                u = t12.rearrange(LO1, t13);
                t13 = t12.rearrange(HI1, t13);
                t12 = u;
                u = t14.rearrange(LO1, t15);
                t15 = t14.rearrange(HI1, t15);
                t14 = u;
                int d = k0 * PANEL + h;
                t0.intoArray(p, d);
                t1.intoArray(p, d + 1 * PANEL);
                t2.intoArray(p, d + 2 * PANEL);
                t3.intoArray(p, d + 3 * PANEL);
                t4.intoArray(p, d + 4 * PANEL);
                t5.intoArray(p, d + 5 * PANEL);
                t6.intoArray(p, d + 6 * PANEL);
                t7.intoArray(p, d + 7 * PANEL);
                t8.intoArray(p, d + 8 * PANEL);
                t9.intoArray(p, d + 9 * PANEL);
                t10.intoArray(p, d + 10 * PANEL);
                t11.intoArray(p, d + 11 * PANEL);
                t12.intoArray(p, d + 12 * PANEL);
                t13.intoArray(p, d + 13 * PANEL);
                t14.intoArray(p, d + 14 * PANEL);
                t15.intoArray(p, d + 15 * PANEL);
            }
            for (int k = kv; k < c; k++) { // only F32/F16/BF16 rows have a length that is not a multiple of 16
                for (int i = 0; i < L; i++) {
                    p[k * PANEL + h + i] = w[base + i * c + k];
                }
            }
        }
    }

    /** Lane l of row r takes row r + s's lane l - s where bit s of l is set (LO), row r's lane l + s where not (HI). */
    private static VectorShuffle<Float> swap(int s, boolean lo) {
        int[] idx = new int[L];
        for (int l = 0; l < L; l++) {
            idx[l] = lo ? ((l & s) == 0 ? l : L + l - s) : ((l & s) == 0 ? l + s : L + l);
        }
        return VectorShuffle.fromArray(F, idx, 0);
    }

    private static final VectorShuffle<Float> LO8 = swap(8, true), HI8 = swap(8, false);
    private static final VectorShuffle<Float> LO4 = swap(4, true), HI4 = swap(4, false);
    private static final VectorShuffle<Float> LO2 = swap(2, true), HI2 = swap(2, false);
    private static final VectorShuffle<Float> LO1 = swap(1, true), HI1 = swap(1, false);

    /**
     * The outer-product micro-kernels: a packed panel's 32 rows times 12 (8, 4, 1) vectors at {@code x[xOff + j * c]}
     * ({@code j} < 12), into {@code y[yOff + j * ys + i]} (i < 32). Per k, two weight vectors (rows 0-15 and 16-31 at
     * that k) each meet every vector's broadcast element: 24 FMAs for 2 vector loads and 12 scalar broadcasts, and the
     * 24 accumulators are the outputs themselves (no horizontal sums). Each output is one float accumulation over
     * k in order. The vector accesses are written out in the kernels: C2 did not inline a store helper taking the
     * accumulators, and boxed them (the kernel ran several times slower).
     */
    static void panel12(float[] p, float[] x, int xOff, int c, float[] y, int yOff, int ys) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z, a4 = z, b4 = z, a5 = z, b5 = z, a6 = z, b6 = z, a7 = z, b7 = z, a8 = z, b8 = z, a9 = z, b9 = z, a10 = z, b10 = z, a11 = z, b11 = z;
        int x0 = xOff, x1 = x0 + c, x2 = x0 + 2 * c, x3 = x0 + 3 * c, x4 = x0 + 4 * c, x5 = x0 + 5 * c, x6 = x0 + 6 * c, x7 = x0 + 7 * c, x8 = x0 + 8 * c, x9 = x0 + 9 * c, x10 = x0 + 10 * c, x11 = x0 + 11 * c;
        for (int k = 0, pi = 0; k < c; k++, pi += PANEL) {
            FloatVector w0 = FloatVector.fromArray(F, p, pi);
            FloatVector w1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector s = FloatVector.broadcast(F, x[x0 + k]);
            a0 = w0.fma(s, a0);
            b0 = w1.fma(s, b0);
            s = FloatVector.broadcast(F, x[x1 + k]);
            a1 = w0.fma(s, a1);
            b1 = w1.fma(s, b1);
            s = FloatVector.broadcast(F, x[x2 + k]);
            a2 = w0.fma(s, a2);
            b2 = w1.fma(s, b2);
            s = FloatVector.broadcast(F, x[x3 + k]);
            a3 = w0.fma(s, a3);
            b3 = w1.fma(s, b3);
            s = FloatVector.broadcast(F, x[x4 + k]);
            a4 = w0.fma(s, a4);
            b4 = w1.fma(s, b4);
            s = FloatVector.broadcast(F, x[x5 + k]);
            a5 = w0.fma(s, a5);
            b5 = w1.fma(s, b5);
            s = FloatVector.broadcast(F, x[x6 + k]);
            a6 = w0.fma(s, a6);
            b6 = w1.fma(s, b6);
            s = FloatVector.broadcast(F, x[x7 + k]);
            a7 = w0.fma(s, a7);
            b7 = w1.fma(s, b7);
            s = FloatVector.broadcast(F, x[x8 + k]);
            a8 = w0.fma(s, a8);
            b8 = w1.fma(s, b8);
            s = FloatVector.broadcast(F, x[x9 + k]);
            a9 = w0.fma(s, a9);
            b9 = w1.fma(s, b9);
            s = FloatVector.broadcast(F, x[x10 + k]);
            a10 = w0.fma(s, a10);
            b10 = w1.fma(s, b10);
            s = FloatVector.broadcast(F, x[x11 + k]);
            a11 = w0.fma(s, a11);
            b11 = w1.fma(s, b11);
        }
        a0.intoArray(y, yOff);
        b0.intoArray(y, yOff + L);
        a1.intoArray(y, yOff + ys);
        b1.intoArray(y, yOff + ys + L);
        a2.intoArray(y, yOff + 2 * ys);
        b2.intoArray(y, yOff + 2 * ys + L);
        a3.intoArray(y, yOff + 3 * ys);
        b3.intoArray(y, yOff + 3 * ys + L);
        a4.intoArray(y, yOff + 4 * ys);
        b4.intoArray(y, yOff + 4 * ys + L);
        a5.intoArray(y, yOff + 5 * ys);
        b5.intoArray(y, yOff + 5 * ys + L);
        a6.intoArray(y, yOff + 6 * ys);
        b6.intoArray(y, yOff + 6 * ys + L);
        a7.intoArray(y, yOff + 7 * ys);
        b7.intoArray(y, yOff + 7 * ys + L);
        a8.intoArray(y, yOff + 8 * ys);
        b8.intoArray(y, yOff + 8 * ys + L);
        a9.intoArray(y, yOff + 9 * ys);
        b9.intoArray(y, yOff + 9 * ys + L);
        a10.intoArray(y, yOff + 10 * ys);
        b10.intoArray(y, yOff + 10 * ys + L);
        a11.intoArray(y, yOff + 11 * ys);
        b11.intoArray(y, yOff + 11 * ys + L);
    }

    static void panel8(float[] p, float[] x, int xOff, int c, float[] y, int yOff, int ys) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z, a4 = z, b4 = z, a5 = z, b5 = z, a6 = z, b6 = z, a7 = z, b7 = z;
        int x0 = xOff, x1 = x0 + c, x2 = x0 + 2 * c, x3 = x0 + 3 * c, x4 = x0 + 4 * c, x5 = x0 + 5 * c, x6 = x0 + 6 * c, x7 = x0 + 7 * c;
        for (int k = 0, pi = 0; k < c; k++, pi += PANEL) {
            FloatVector w0 = FloatVector.fromArray(F, p, pi);
            FloatVector w1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector s = FloatVector.broadcast(F, x[x0 + k]);
            a0 = w0.fma(s, a0);
            b0 = w1.fma(s, b0);
            s = FloatVector.broadcast(F, x[x1 + k]);
            a1 = w0.fma(s, a1);
            b1 = w1.fma(s, b1);
            s = FloatVector.broadcast(F, x[x2 + k]);
            a2 = w0.fma(s, a2);
            b2 = w1.fma(s, b2);
            s = FloatVector.broadcast(F, x[x3 + k]);
            a3 = w0.fma(s, a3);
            b3 = w1.fma(s, b3);
            s = FloatVector.broadcast(F, x[x4 + k]);
            a4 = w0.fma(s, a4);
            b4 = w1.fma(s, b4);
            s = FloatVector.broadcast(F, x[x5 + k]);
            a5 = w0.fma(s, a5);
            b5 = w1.fma(s, b5);
            s = FloatVector.broadcast(F, x[x6 + k]);
            a6 = w0.fma(s, a6);
            b6 = w1.fma(s, b6);
            s = FloatVector.broadcast(F, x[x7 + k]);
            a7 = w0.fma(s, a7);
            b7 = w1.fma(s, b7);
        }
        a0.intoArray(y, yOff);
        b0.intoArray(y, yOff + L);
        a1.intoArray(y, yOff + ys);
        b1.intoArray(y, yOff + ys + L);
        a2.intoArray(y, yOff + 2 * ys);
        b2.intoArray(y, yOff + 2 * ys + L);
        a3.intoArray(y, yOff + 3 * ys);
        b3.intoArray(y, yOff + 3 * ys + L);
        a4.intoArray(y, yOff + 4 * ys);
        b4.intoArray(y, yOff + 4 * ys + L);
        a5.intoArray(y, yOff + 5 * ys);
        b5.intoArray(y, yOff + 5 * ys + L);
        a6.intoArray(y, yOff + 6 * ys);
        b6.intoArray(y, yOff + 6 * ys + L);
        a7.intoArray(y, yOff + 7 * ys);
        b7.intoArray(y, yOff + 7 * ys + L);
    }

    static void panel4(float[] p, float[] x, int xOff, int c, float[] y, int yOff, int ys) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z;
        int x0 = xOff, x1 = x0 + c, x2 = x0 + 2 * c, x3 = x0 + 3 * c;
        for (int k = 0, pi = 0; k < c; k++, pi += PANEL) {
            FloatVector w0 = FloatVector.fromArray(F, p, pi);
            FloatVector w1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector s = FloatVector.broadcast(F, x[x0 + k]);
            a0 = w0.fma(s, a0);
            b0 = w1.fma(s, b0);
            s = FloatVector.broadcast(F, x[x1 + k]);
            a1 = w0.fma(s, a1);
            b1 = w1.fma(s, b1);
            s = FloatVector.broadcast(F, x[x2 + k]);
            a2 = w0.fma(s, a2);
            b2 = w1.fma(s, b2);
            s = FloatVector.broadcast(F, x[x3 + k]);
            a3 = w0.fma(s, a3);
            b3 = w1.fma(s, b3);
        }
        a0.intoArray(y, yOff);
        b0.intoArray(y, yOff + L);
        a1.intoArray(y, yOff + ys);
        b1.intoArray(y, yOff + ys + L);
        a2.intoArray(y, yOff + 2 * ys);
        b2.intoArray(y, yOff + 2 * ys + L);
        a3.intoArray(y, yOff + 3 * ys);
        b3.intoArray(y, yOff + 3 * ys + L);
    }

    static void panel1(float[] p, float[] x, int xOff, int c, float[] y, int yOff, int ys) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z;
        int x0 = xOff;
        for (int k = 0, pi = 0; k < c; k++, pi += PANEL) {
            FloatVector w0 = FloatVector.fromArray(F, p, pi);
            FloatVector w1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector s = FloatVector.broadcast(F, x[x0 + k]);
            a0 = w0.fma(s, a0);
            b0 = w1.fma(s, b0);
        }
        a0.intoArray(y, yOff);
        b0.intoArray(y, yOff + L);
    }
}
