package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q8_0 weights: blocks of 32 elements, each an f16 scale {@code d} and 32 signed bytes {@code q}, value
 * {@code q * d}.
 *
 * <p>Decode products (1 to {@link #fusedVectors()} vectors) run on a copy repacked at load into {@link Interleaved}
 * groups of 32 rows, with activations quantized to int8 per block (as ggml's Q8_0 x Q8_0 kernel does). Per group and
 * block the copy holds, for each of the 32 elements, the 32 rows' quants as one 32-byte vector, then the rows' f16
 * scales. A sign-extending load makes the 32 bytes 32 16-bit weights; each meets its broadcast activation in one
 * 16-bit multiply, and two elements' products are added there, exactly ({@code 2 * 128 * 127 < 2^15}). The pair
 * sums are widened to 32 bits with one shift: biased by 2^15 (so every one is in {@code [256, 65280]}, never
 * negative), the 32-bit view of two lanes is {@code 65536 * hi + lo}; summing that view and {@code hi} alone over a
 * block, {@code lo}'s sum is the difference (exact: at most 2^20). Rows 0-15 take the even lanes and 16-31 the odd
 * ones, so each half's sums come out as 16 consecutive rows. Each block's sums are converted once and scaled by
 * {@code d * dx}. One thread, CPU time, a 512 KiB matrix in L2 ({@code KernelBench hotcore}, quantizing included):
 * 24-26 G weights/s for one vector against 18-20 for the float kernel it replaced (which widened every byte to a
 * float and loaded an activation vector per 16 products); two vectors ({@code pairs}) 31.5 G weight-vector
 * products/s, against 29 when two weights shared a 16-bit lane and took two shifts each to split; four vectors per
 * pass (one weight load and widening, one scale conversion per block for all four) 39-41 against the pairs' 33-36 at
 * 4 vectors and 31-41 against 34-36 at 8 (16 MiB matrix, same JVM, alternated). The copy takes 1088 bytes per 1024 weights, as the
 * file (1.0625 bytes per weight), off-heap and on huge pages where the system grants them; it is the only copy (the
 * mapped file's pages are read again only by prompt batches wider than the fused width, which dequantize rows from
 * it, and otherwise stay reclaimable page cache).
 */
final class Q8_0Matrix extends BaseMatrix {
    private static final int BLOCK = 32;
    private static final int BYTES = 34;

    /** Where a (group, block) of the interleaved copy keeps its scales: after 32 x 32 quant bytes. */
    private static final int SCALES = 32 * 32;
    /** Bytes of one (group, block): the quants, then 32 f16 scales. */
    static final int GROUP_BLOCK = SCALES + 2 * Interleaved.ROWS;
    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    /** Sixteen pair sums, each biased by 2^15 (see the class comment), in one 32-bit lane. */
    private static final int BIAS = 16 << 15;

    private final MemorySegment packed;
    private final long groupBytes;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
        int blocks = cols / BLOCK;
        this.groupBytes = (long) blocks * GROUP_BLOCK;
        this.packed = Interleaved.allocate(rows, groupBytes);
        // A group at a time through heap arrays (bulk copies in and out, a plain transpose between) instead of a
        // segment access per byte.
        Interleaved.forEachGroup(rows, (from, to) -> {
            byte[] in = new byte[(int) (Interleaved.ROWS * rowBytes)];
            byte[] out = new byte[(int) groupBytes];
            for (int g = from; g < to; g++) {
                int row0 = g * Interleaved.ROWS;
                int n = Math.min(Interleaved.ROWS, rows - row0);
                MemorySegment.copy(data, ValueLayout.JAVA_BYTE, row0 * rowBytes, in, 0, (int) (n * rowBytes));
                if (n < Interleaved.ROWS) {
                    java.util.Arrays.fill(in, (int) (n * rowBytes), in.length, (byte) 0); // zero rows: zero scales
                }
                repackGroup(in, (int) rowBytes, blocks, out);
                MemorySegment.copy(out, 0, packed, ValueLayout.JAVA_BYTE, g * groupBytes, out.length);
            }
        });
    }

    /**
     * One group: {@code in} holds its 32 rows as stored ({@code rowBytes} apart); {@code out} receives, per block,
     * element k of the 32 rows as one 32-byte vector (rows 0-15 in the even bytes, 16-31 in the odd ones), then the
     * rows' scales.
     */
    private static void repackGroup(byte[] in, int rowBytes, int blocks, byte[] out) {
        for (int r = 0; r < Interleaved.ROWS; r++) {
            int lane = r < 16 ? 2 * r : 2 * (r - 16) + 1; // the row's byte in each 32-byte vector
            for (int b = 0; b < blocks; b++) {
                int src = r * rowBytes + b * BYTES;
                int dst = b * GROUP_BLOCK;
                out[dst + SCALES + 2 * r] = in[src];
                out[dst + SCALES + 2 * r + 1] = in[src + 1];
                for (int k = 0; k < BLOCK; k++) {
                    out[dst + 32 * k + lane] = in[src + 2 + k];
                }
            }
        }
    }

    @Override
    int interleavedRows() {
        return Interleaved.ROWS;
    }

    /**
     * Up to 8 vectors, in passes of four (then two, then one) over each group (later passes read the group's 68 KB,
     * at 2048 columns, from the cache). Larger batches run the tiled float matmul.
     */
    @Override
    int fusedVectors() {
        return 8;
    }

    /**
     * Fours of vectors through the four-vector kernel, then a pair, then an odd last one alone, for the reason
     * Q4_0Matrix gives. Every kernel forms a vector's sums with the same operations in the same order, so a vector's
     * result does not depend on the batch it came in.
     */
    @Override
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        int row0 = g * Interleaved.ROWS;
        long o = g * groupBytes;
        int valid = rows - row0;
        int blocks = cols / BLOCK;
        int v = 0;
        for (; v + 4 <= count; v += 4) {
            products4(packed, o, a.q, a.d, blocks, v * cols, v * blocks, cols, blocks,
                    y, yOff + v * yStride + row0, yStride, valid);
        }
        for (; v + 2 <= count; v += 2) {
            products2(packed, o, a.q, a.d, blocks, v * cols, v * blocks, (v + 1) * cols, (v + 1) * blocks,
                    y, yOff + v * yStride + row0, yOff + (v + 1) * yStride + row0, valid);
        }
        if (v < count) {
            product1(packed, o, a.q, a.d, blocks, v * cols, v * blocks, y, yOff + v * yStride + row0, valid);
        }
    }

    /**
     * Vector {@code qa / cols}: its quants from {@code q[qa]}, its block scales from {@code dx[ka]}. Kept free of
     * helper calls for the reason {@link Q4_0Matrix#groupProducts} gives.
     */
    private static void product1(MemorySegment p, long o, short[] q, float[] dx, int blocks, int qa, int ka,
                                 float[] y, int yo, int valid) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        for (int b = 0; b < blocks; b++, o += GROUP_BLOCK) {
            IntVector all = IntVector.zero(I512), high = all;
            int xi = qa + b * BLOCK;
            for (int k = 0; k < SCALES; k += 64, xi += 2) {
                ShortVector we = (ShortVector) ByteVector.fromMemorySegment(B256, p, o + k, LE).convertShape(VectorOperators.B2S, S512, 0);
                ShortVector wo = (ShortVector) ByteVector.fromMemorySegment(B256, p, o + k + 32, LE).convertShape(VectorOperators.B2S, S512, 0);
                IntVector t = we.mul(q[xi]).add(wo.mul(q[xi + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all = all.add(t);
                high = high.add(t.lanewise(VectorOperators.LSHR, 16));
            }
            IntVector s0 = all.sub(high.lanewise(VectorOperators.LSHL, 16)).sub(BIAS);
            IntVector s1 = high.sub(BIAS);
            float s = dx[ka + b];
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + SCALES, LE).convertShape(VectorOperators.S2I, I512, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + SCALES + 32, LE).convertShape(VectorOperators.S2I, I512, 0);
            FloatVector d0 = h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector d1 = h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            acc0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0)).fma(d0.mul(s), acc0);
            acc1 = ((FloatVector) s1.convert(VectorOperators.I2F, 0)).fma(d1.mul(s), acc1);
        }
        if (valid >= Interleaved.ROWS) {
            acc0.intoArray(y, yo);
            acc1.intoArray(y, yo + 16);
        } else {
            acc0.intoArray(y, yo, F.indexInRange(0, valid));
            acc1.intoArray(y, yo + 16, F.indexInRange(16, valid));
        }
    }

    /**
     * {@link #product1} for two vectors (quants from {@code qa} and {@code qb}, scales from {@code ka} and
     * {@code kb}): each weight is loaded and split once and meets both, and the row scales are converted once.
     */
    private static void products2(MemorySegment p, long o, short[] q, float[] dx, int blocks, int qa, int ka,
                                  int qb, int kb, float[] y, int ya, int yb, int valid) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        for (int b = 0; b < blocks; b++, o += GROUP_BLOCK) {
            IntVector all0 = IntVector.zero(I512), high0 = all0, all1 = all0, high1 = all0;
            int xa = qa + b * BLOCK, xb = qb + b * BLOCK;
            for (int k = 0; k < SCALES; k += 64, xa += 2, xb += 2) {
                ShortVector we = (ShortVector) ByteVector.fromMemorySegment(B256, p, o + k, LE).convertShape(VectorOperators.B2S, S512, 0);
                ShortVector wo = (ShortVector) ByteVector.fromMemorySegment(B256, p, o + k + 32, LE).convertShape(VectorOperators.B2S, S512, 0);
                IntVector u = we.mul(q[xa]).add(wo.mul(q[xa + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all0 = all0.add(u);
                high0 = high0.add(u.lanewise(VectorOperators.LSHR, 16));
                u = we.mul(q[xb]).add(wo.mul(q[xb + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all1 = all1.add(u);
                high1 = high1.add(u.lanewise(VectorOperators.LSHR, 16));
            }
            IntVector s0 = all0.sub(high0.lanewise(VectorOperators.LSHL, 16)).sub(BIAS);
            IntVector t0 = high0.sub(BIAS);
            IntVector s1 = all1.sub(high1.lanewise(VectorOperators.LSHL, 16)).sub(BIAS);
            IntVector t1 = high1.sub(BIAS);
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + SCALES, LE).convertShape(VectorOperators.S2I, I512, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + SCALES + 32, LE).convertShape(VectorOperators.S2I, I512, 0);
            FloatVector d0 = h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector d1 = h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            float sa = dx[ka + b], sb = dx[kb + b];
            a0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0)).fma(d0.mul(sa), a0);
            b0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d1.mul(sa), b0);
            a1 = ((FloatVector) s1.convert(VectorOperators.I2F, 0)).fma(d0.mul(sb), a1);
            b1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d1.mul(sb), b1);
        }
        if (valid >= Interleaved.ROWS) {
            a0.intoArray(y, ya);
            b0.intoArray(y, ya + 16);
            a1.intoArray(y, yb);
            b1.intoArray(y, yb + 16);
        } else {
            a0.intoArray(y, ya, F.indexInRange(0, valid));
            b0.intoArray(y, ya + 16, F.indexInRange(16, valid));
            a1.intoArray(y, yb, F.indexInRange(0, valid));
            b1.intoArray(y, yb + 16, F.indexInRange(16, valid));
        }
    }

    /**
     * {@link #product1} for four consecutive vectors (vector j's quants from {@code qa + j * qs}, scales from
     * {@code ka + j * ks}, output at {@code ya + j * ys}): each weight is loaded and widened once for the four, and
     * the row scales are converted once per block. Each vector's sums are formed exactly as product1 forms them.
     */
    private static void products4(MemorySegment p, long o, short[] q, float[] dx, int blocks, int qa, int ka, int qs,
                                  int ks, float[] y, int ya, int ys, int valid) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        for (int b = 0; b < blocks; b++, o += GROUP_BLOCK) {
            IntVector all0 = IntVector.zero(I512), high0 = all0, all1 = all0, high1 = all0;
            IntVector all2 = all0, high2 = all0, all3 = all0, high3 = all0;
            int x0 = qa + b * BLOCK, x1 = x0 + qs, x2 = x1 + qs, x3 = x2 + qs;
            for (int k = 0; k < SCALES; k += 64, x0 += 2, x1 += 2, x2 += 2, x3 += 2) {
                ShortVector we = (ShortVector) ByteVector.fromMemorySegment(B256, p, o + k, LE).convertShape(VectorOperators.B2S, S512, 0);
                ShortVector wo = (ShortVector) ByteVector.fromMemorySegment(B256, p, o + k + 32, LE).convertShape(VectorOperators.B2S, S512, 0);
                IntVector u = we.mul(q[x0]).add(wo.mul(q[x0 + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all0 = all0.add(u);
                high0 = high0.add(u.lanewise(VectorOperators.LSHR, 16));
                u = we.mul(q[x1]).add(wo.mul(q[x1 + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all1 = all1.add(u);
                high1 = high1.add(u.lanewise(VectorOperators.LSHR, 16));
                u = we.mul(q[x2]).add(wo.mul(q[x2 + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all2 = all2.add(u);
                high2 = high2.add(u.lanewise(VectorOperators.LSHR, 16));
                u = we.mul(q[x3]).add(wo.mul(q[x3 + 1])).add(Short.MIN_VALUE).reinterpretAsInts();
                all3 = all3.add(u);
                high3 = high3.add(u.lanewise(VectorOperators.LSHR, 16));
            }
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + SCALES, LE).convertShape(VectorOperators.S2I, I512, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + SCALES + 32, LE).convertShape(VectorOperators.S2I, I512, 0);
            FloatVector d0 = h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector d1 = h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            int kb = ka + b;
            float s0 = dx[kb], s1 = dx[kb + ks], s2 = dx[kb + 2 * ks], s3 = dx[kb + 3 * ks];
            a0 = ((FloatVector) all0.sub(high0.lanewise(VectorOperators.LSHL, 16)).sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d0.mul(s0), a0);
            b0 = ((FloatVector) high0.sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d1.mul(s0), b0);
            a1 = ((FloatVector) all1.sub(high1.lanewise(VectorOperators.LSHL, 16)).sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d0.mul(s1), a1);
            b1 = ((FloatVector) high1.sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d1.mul(s1), b1);
            a2 = ((FloatVector) all2.sub(high2.lanewise(VectorOperators.LSHL, 16)).sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d0.mul(s2), a2);
            b2 = ((FloatVector) high2.sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d1.mul(s2), b2);
            a3 = ((FloatVector) all3.sub(high3.lanewise(VectorOperators.LSHL, 16)).sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d0.mul(s3), a3);
            b3 = ((FloatVector) high3.sub(BIAS).convert(VectorOperators.I2F, 0)).fma(d1.mul(s3), b3);
        }
        if (valid >= Interleaved.ROWS) {
            a0.intoArray(y, ya);
            b0.intoArray(y, ya + 16);
            a1.intoArray(y, ya + ys);
            b1.intoArray(y, ya + ys + 16);
            a2.intoArray(y, ya + 2 * ys);
            b2.intoArray(y, ya + 2 * ys + 16);
            a3.intoArray(y, ya + 3 * ys);
            b3.intoArray(y, ya + 3 * ys + 16);
        } else {
            VectorMask<Float> m0 = F.indexInRange(0, valid), m1 = F.indexInRange(16, valid);
            a0.intoArray(y, ya, m0);
            b0.intoArray(y, ya + 16, m1);
            a1.intoArray(y, ya + ys, m0);
            b1.intoArray(y, ya + ys + 16, m1);
            a2.intoArray(y, ya + 2 * ys, m0);
            b2.intoArray(y, ya + 2 * ys + 16, m1);
            a3.intoArray(y, ya + 3 * ys, m0);
            b3.intoArray(y, ya + 3 * ys + 16, m1);
        }
    }

    /** Not on the decode path (that runs the interleaved kernels): a float dot over the stored row. */
    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        int xi = xOff;
        for (int b = 0; b < blocks; b++, o += BYTES, xi += BLOCK) {
            FloatVector q0 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 2, LE));
            FloatVector q1 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 18, LE));
            FloatVector d = bc(f16(s, o));
            acc0 = q0.mul(d).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = q1.mul(d).fma(FloatVector.fromArray(F, x, xi + 16), acc1);
        }
        return VectorOps.sumLanes(acc0.add(acc1));
    }

    /** From the mapped file, for the tiled prompt matmul (compute-bound: reading 4 KiB pages costs it little). */
    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        for (int b = 0; b < blocks; b++, o += BYTES, off += BLOCK) {
            float d = f16(s, o);
            bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 2, LE)).mul(d).intoArray(out, off);
            bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 18, LE)).mul(d).intoArray(out, off + 16);
        }
    }
}
