package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K weights: super-blocks of 256 elements (210 bytes): 128 bytes {@code ql} (low 4 bits), 64 bytes {@code qh}
 * (high 2 bits, four elements per byte), 16 signed 8-bit scales (one per 16 elements), f16 {@code d}; value
 * {@code d * scale * (q - 32)}. Each half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; the four
 * 32-element quarters take the low/high nibbles of ql[0..32) and ql[32..64) with qh bits 0-1, 2-3, 4-5, 6-7.
 *
 * <p>Decode products (1 to {@link #fusedVectors()} vectors) run on a copy repacked at load into {@link Interleaved}
 * groups of 32 rows, with activations quantized to int8 per 32 elements, as {@link Q4_0Matrix} explains. Each weight
 * takes one byte there, two per 16-bit lane: lane i of a 64-byte vector holds two consecutive elements of row i, the
 * even one as {@code q} (0..63) in the low byte and the odd one as {@code q - 32} in the high byte, so that one
 * {@code and} and one arithmetic shift give both as 16-bit words (splitting the file's 4+2 bit fields instead made
 * every weight meet its activation twice, once per field, and ran at half this speed). Per 16-element sub-block
 * the kernel sums {@code q * qx} over the 8 even elements and {@code (q - 32) * qx} over the 8 odd ones in 16 bits:
 * the odd sum is bounded by {@code 8 * 32 * 127 < 2^15}, and the even one is exact once
 * {@code 32 * sum(qx)} over those elements ({@link Int8Activations#even32}) is taken off modulo 2^16, by the
 * same bound. The two sums are added in 32 bits, converted, and scaled by {@code d * scale * dx} on 16 rows per
 * float vector.
 *
 * <p>Per group and super-block the copy holds the 32 rows' {@code d} as floats, then per 32-element block the
 * rows' 32 scale bytes of each of its two sub-blocks and 16 vectors of quants, one sequential stream (scales after
 * the quants, read after the first half's, streamed from memory at 60% of this speed):
 * 8832 bytes per 8192 weights (1.08 bytes per weight; the file takes 0.82). Prompt batches beyond the fused width
 * dequantize rows from the mapped file.
 */
final class Q6KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 210;

    /**
     * Bytes of one 32-element block of a group: the rows' scale bytes of its two sub-blocks (sub-block h, row i at
     * {@code 32 * h + i}), then from {@link #QS} 16 vectors of quants (sub-block h at {@code QS + 512 * h}).
     */
    private static final int XBLOCK = 2 * Interleaved.ROWS + 16 * 64;
    private static final int SC = 0, QS = 2 * Interleaved.ROWS;
    /** Bytes of one (group, super-block): the rows' d as floats, then 8 blocks. */
    static final int GROUP_SUPER = Interleaved.ROWS * Float.BYTES + 8 * XBLOCK;
    private static final int DATA = Interleaved.ROWS * Float.BYTES;

    private final MemorySegment packed;
    private final long groupBytes;

    Q6KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
        this.groupBytes = (long) (cols / BLOCK) * GROUP_SUPER;
        this.packed = Interleaved.allocate(rows, groupBytes);
        int supers = cols / BLOCK;
        Interleaved.forEachRow(rows, r -> {
            byte[] q = new byte[BLOCK];
            MemorySegment qs = MemorySegment.ofArray(q);
            long dst = Interleaved.groupOffset(r, groupBytes);
            int lane = Interleaved.lane(r);
            for (int k = 0; k < supers; k++, dst += GROUP_SUPER) {
                long src = r * rowBytes + (long) k * BYTES;
                unpack(data, src, qs);
                packed.set(FLOAT_LE, dst + 4L * lane, f16(data, src + 208));
                for (int j = 0; j < 8; j++) {
                    long xb = dst + DATA + (long) XBLOCK * j;
                    for (int h = 0; h < 2; h++) {
                        packed.set(ValueLayout.JAVA_BYTE, xb + SC + 32 * h + lane, data.get(ValueLayout.JAVA_BYTE, src + 192 + 2 * j + h));
                        for (int v = 0; v < 8; v++) {
                            int e = 32 * j + 16 * h + 2 * v;
                            int even = q[e] + 32; // 0..63
                            int odd = q[e + 1]; // q - 32: -32..31
                            packed.set(SHORT_LE, xb + QS + 512L * h + 64L * v + 2 * lane, (short) (odd << 8 | even));
                        }
                    }
                }
            }
        });
    }

    /** Unpacks the super-block at byte {@code o} into 256 signed bytes {@code q - 32} in element order. */
    private static void unpack(MemorySegment s, long o, MemorySegment q) {
        for (int k = 0; k < 4; k++) {
            int h = k >> 1;
            int c = k & 1;
            long ql = o + 64 * h + 16 * c;
            ByteVector a = ByteVector.fromMemorySegment(B128, s, ql, LE);
            ByteVector b = ByteVector.fromMemorySegment(B128, s, ql + 32, LE);
            ByteVector hb = ByteVector.fromMemorySegment(B128, s, o + 128 + 32 * h + 16 * c, LE);
            long e = 128 * h + 16 * c;
            a.and((byte) 0x0F).or(shlBytes(hb, 4).and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e, LE);
            b.and((byte) 0x0F).or(shlBytes(hb, 2).and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e + 32, LE);
            shrBytes(a, 4).and((byte) 0x0F).or(hb.and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e + 64, LE);
            shrBytes(b, 4).and((byte) 0x0F).or(shrBytes(hb, 2).and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e + 96, LE);
        }
    }

    @Override
    int interleavedRows() {
        return Interleaved.ROWS;
    }

    @Override
    int fusedVectors() {
        return Interleaved.MAX_VECTORS;
    }

    @Override
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        int row0 = g * Interleaved.ROWS;
        long o = g * groupBytes;
        int valid = rows - row0;
        // Pairs of vectors, an odd last one alone, for the reason Q4KMatrix.groupProducts gives.
        int v = 0;
        for (; v + 2 <= count; v += 2) {
            products2(packed, o, a.q, a.even32, a.d, cols, v * cols, (v + 1) * cols, v * a.blocks, (v + 1) * a.blocks,
                    y, yOff + v * yStride + row0, yOff + (v + 1) * yStride + row0, valid);
        }
        if (v < count) {
            product1(packed, o, a.q, a.even32, a.d, cols, v, y, yOff + v * yStride + row0, valid);
        }
    }

    /** Kept free of helper calls for the reason {@link Q4_0Matrix#groupProducts} gives. */
    private static void product1(MemorySegment p, long o, short[] q, short[] e32, float[] dx, int cols, int vec,
                                 float[] y, int yo, int valid) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        ShortVector c8 = ShortVector.broadcast(S512, (short) 8);
        int blocks = cols / 32;
        int kb = vec * blocks;
        for (int j = 0; j < blocks; j++) {
            long os = o + (long) (j >> 3) * GROUP_SUPER;
            long ob = os + DATA + (long) XBLOCK * (j & 7);
            FloatVector d0 = FloatVector.fromMemorySegment(F, p, os, LE).mul(dx[kb + j]);
            FloatVector d1 = FloatVector.fromMemorySegment(F, p, os + 64, LE).mul(dx[kb + j]);
            for (int h = 0; h < 2; h++) {
                long oh = ob + QS + 512L * h;
                int xi = vec * cols + 32 * j + 16 * h;
                ShortVector pe = ShortVector.zero(S512), po = pe;
                for (int v = 0; v < 8; v++, xi += 2) {
                    ShortVector w = ShortVector.fromMemorySegment(S512, p, oh + 64L * v, LE);
                    pe = pe.add(w.and((short) 0xFF).mul(q[xi]));
                    po = po.add(w.lanewise(VectorOperators.ASHR, c8).mul(q[xi + 1]));
                }
                pe = pe.sub(e32[2 * (kb + j) + h]);
                // Each 16-bit sum is exact, their sum may not be: added as floats (exact below 2^24).
                FloatVector t0 = ((FloatVector) pe.convertShape(VectorOperators.S2F, F, 0)).add(po.convertShape(VectorOperators.S2F, F, 0));
                FloatVector t1 = ((FloatVector) pe.convertShape(VectorOperators.S2F, F, 1)).add(po.convertShape(VectorOperators.S2F, F, 1));
                long sc = ob + SC + 32L * h;
                FloatVector s0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d0);
                FloatVector s1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc + 16, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d1);
                acc0 = t0.fma(s0, acc0);
                acc1 = t1.fma(s1, acc1);
            }
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
     * {@link #product1} for two vectors whose quants start at {@code qa} and {@code qb} and blocks at {@code ka} and
     * {@code kb}: each weight is loaded and split once and meets both.
     */
    private static void products2(MemorySegment p, long o, short[] q, short[] e32, float[] dx, int cols, int qa, int qb,
                                  int ka, int kb, float[] y, int ya, int yb, int valid) {
        int blocks = cols / 32;
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        ShortVector c8 = ShortVector.broadcast(S512, (short) 8);
        for (int j = 0; j < blocks; j++) {
            long os = o + (long) (j >> 3) * GROUP_SUPER;
            long ob = os + DATA + (long) XBLOCK * (j & 7);
            FloatVector d0 = FloatVector.fromMemorySegment(F, p, os, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(F, p, os + 64, LE);
            FloatVector da0 = d0.mul(dx[ka + j]), da1 = d1.mul(dx[ka + j]);
            FloatVector db0 = d0.mul(dx[kb + j]), db1 = d1.mul(dx[kb + j]);
            for (int h = 0; h < 2; h++) {
                long oh = ob + QS + 512L * h;
                int xa = qa + 32 * j + 16 * h, xb = qb + 32 * j + 16 * h;
                ShortVector e0 = ShortVector.zero(S512), o0 = e0, e1 = e0, o1 = e0;
                for (int v = 0; v < 8; v++, xa += 2, xb += 2) {
                    ShortVector w = ShortVector.fromMemorySegment(S512, p, oh + 64L * v, LE);
                    ShortVector we = w.and((short) 0xFF);
                    ShortVector wo = w.lanewise(VectorOperators.ASHR, c8);
                    e0 = e0.add(we.mul(q[xa]));
                    o0 = o0.add(wo.mul(q[xa + 1]));
                    e1 = e1.add(we.mul(q[xb]));
                    o1 = o1.add(wo.mul(q[xb + 1]));
                }
                long sc = ob + SC + 32L * h;
                FloatVector s0 = (FloatVector) ByteVector.fromMemorySegment(B128, p, sc, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector s1 = (FloatVector) ByteVector.fromMemorySegment(B128, p, sc + 16, LE).convertShape(VectorOperators.B2F, F, 0);
                e0 = e0.sub(e32[2 * (ka + j) + h]);
                e1 = e1.sub(e32[2 * (kb + j) + h]);
                a0 = ((FloatVector) e0.convertShape(VectorOperators.S2F, F, 0)).add(o0.convertShape(VectorOperators.S2F, F, 0)).fma(s0.mul(da0), a0);
                b0 = ((FloatVector) e0.convertShape(VectorOperators.S2F, F, 1)).add(o0.convertShape(VectorOperators.S2F, F, 1)).fma(s1.mul(da1), b0);
                a1 = ((FloatVector) e1.convertShape(VectorOperators.S2F, F, 0)).add(o1.convertShape(VectorOperators.S2F, F, 0)).fma(s0.mul(db0), a1);
                b1 = ((FloatVector) e1.convertShape(VectorOperators.S2F, F, 1)).add(o1.convertShape(VectorOperators.S2F, F, 1)).fma(s1.mul(db1), b1);
            }
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

    /** Not on the decode path (that runs the interleaved kernels): the row dequantized, then one float dot. */
    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        float[] w = ROW.get();
        if (w.length < cols) {
            w = new float[cols];
            ROW.set(w);
        }
        dequantize(rowOffset, w, 0);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < cols; i += L) {
            acc = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        return VectorOps.sumLanes(acc);
    }

    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * From the mapped file, one 64-element quarter at a time: bit fields taken in byte lanes, then widened and
     * scaled by {@code d * scale} per 16 elements. Byte lanes and shifts only (no shared helpers): a helper that
     * reinterprets the vector's shape lost its type to C2 here, and the boxed vectors made this 5 times slower.
     */
    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        int supers = cols / BLOCK;
        for (int k = 0; k < supers; k++, off += BLOCK) {
            long o = rowOffset + (long) k * BYTES;
            float d = f16(s, o + 208);
            for (int i = 0; i < 4; i++) {
                int h = i >> 1;
                int c = i & 1;
                long ql = o + 64 * h + 16 * c;
                ByteVector a = ByteVector.fromMemorySegment(B128, s, ql, LE);
                ByteVector b = ByteVector.fromMemorySegment(B128, s, ql + 32, LE);
                ByteVector hb = ByteVector.fromMemorySegment(B128, s, o + 128 + 32 * h + 16 * c, LE);
                int e = 128 * h + 16 * c; // elements e, e + 32, e + 64, e + 96; scale i covers elements 16i..16i+15
                long sc = o + 192 + e / 16;
                ByteVector q0 = a.and((byte) 0x0F).or(hb.lanewise(VectorOperators.LSHL, 4).and((byte) 0x30)).sub((byte) 32);
                ByteVector q1 = b.and((byte) 0x0F).or(hb.lanewise(VectorOperators.LSHL, 2).and((byte) 0x30)).sub((byte) 32);
                ByteVector q2 = a.lanewise(VectorOperators.LSHR, 4).or(hb.and((byte) 0x30)).sub((byte) 32);
                ByteVector q3 = b.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2).and((byte) 0x30)).sub((byte) 32);
                ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc)).intoArray(out, off + e);
                ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 2)).intoArray(out, off + e + 32);
                ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 4)).intoArray(out, off + e + 64);
                ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 6)).intoArray(out, off + e + 96);
            }
        }
    }
}
