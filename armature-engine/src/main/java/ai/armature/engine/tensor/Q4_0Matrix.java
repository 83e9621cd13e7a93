package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 weights: blocks of 32 elements, each an f16 scale {@code d} and 16 bytes whose low nibbles are elements
 * 0..15 and high nibbles elements 16..31, value {@code (q - 8) * d}.
 *
 * <p>Decode products (1 to {@link #fusedVectors()} vectors) run on a copy repacked at load into an interleaved
 * layout (see {@link Interleaved}): for each group of 32 rows and each block, eight 64-byte vectors whose 16-bit lane
 * i holds four nibbles of row i (elements 4v..4v+3 in vector v), then the 32 rows' f16 scales. One 512-bit load thus
 * feeds 128 weights of 32 rows, a nibble becomes a 16-bit weight with one shift and one mask, and it meets the
 * activation (quantized to int8 per block, as ggml's Q8_0) in one 16-bit multiply and one add: about 4 vector
 * operations per 32 weights against 16 for the float kernel, whose nibble split, widening and conversion made it
 * compute-bound. The block's sum stays exact in 16 bits: {@code |sum (q - 8) * qx| <= 32 * 8 * 127 < 2^15}, and the
 * offset is applied as {@code 8 * sum(qx)} modulo 2^16. Each row's result comes out in its own lane, so no
 * horizontal sum is needed. The copy takes as much memory as the tensor (off-heap); prompt batches larger than
 * the fused width still read the mapped file through {@link #dequantize}.
 */
final class Q4_0Matrix extends BaseMatrix {
    private static final int BLOCK = 32;
    private static final int BYTES = 18;

    /** Bytes of one (group, block) in the interleaved copy: 8 x 64 nibble bytes, then 32 f16 scales. */
    private static final int GROUP_BLOCK = 8 * 64 + 2 * Interleaved.ROWS;

    private final MemorySegment packed;
    private final long groupBytes;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
        int blocks = cols / BLOCK;
        this.groupBytes = (long) blocks * GROUP_BLOCK;
        this.packed = Interleaved.allocate(rows, groupBytes);
        Interleaved.forEachRow(rows, r -> {
            long dst = Interleaved.groupOffset(r, groupBytes);
            int lane = 2 * Interleaved.lane(r);
            for (int b = 0; b < blocks; b++, dst += GROUP_BLOCK) {
                long src = r * rowBytes + (long) b * BYTES;
                packed.set(SHORT_LE, dst + 512 + lane, data.get(SHORT_LE, src));
                for (int v = 0; v < 4; v++) {
                    int word = data.get(INT_LE, src + 2 + 4 * v); // bytes 4v..4v+3: elements 4v.. (low), 16 + 4v.. (high)
                    packed.set(SHORT_LE, dst + 64L * v + lane, (short) Integer.compress(word, 0x0F0F0F0F));
                    packed.set(SHORT_LE, dst + 64L * (v + 4) + lane, (short) Integer.compress(word >>> 4, 0x0F0F0F0F));
                }
            }
        });
    }

    @Override
    int interleavedRows() {
        return Interleaved.ROWS;
    }

    /**
     * Kept free of helper calls on purpose: C2 stops inlining non-intrinsic methods once a compilation passes about
     * 18,000 nodes (NodeCountInliningCutoff), and a vector passed to a method it did not inline is boxed.
     */
    @Override
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        int row0 = g * Interleaved.ROWS;
        long o = g * groupBytes;
        int valid = rows - row0;
        int blocks = cols / BLOCK;
        // Pairs of vectors, an odd last one alone. One kernel for 2 to 4 vectors (as before) was past C2's inlining
        // budget: one thread, 16 MiB matrix, it allocated 5.2 / 7.3 / 9.7 MB per product at 2 / 3 / 4 vectors.
        int v = 0;
        for (; v + 2 <= count; v += 2) {
            products2(packed, o, a.q, a.sum8, a.d, blocks, v * cols, v * blocks, (v + 1) * cols, (v + 1) * blocks,
                    y, yOff + v * yStride + row0, yOff + (v + 1) * yStride + row0, valid);
        }
        if (v < count) {
            product1(packed, o, a.q, a.sum8, a.d, blocks, v * cols, v * blocks, y, yOff + v * yStride + row0, valid);
        }
    }

    /** Vector {@code qa / cols}: its quants from {@code q[qa]}, its blocks from {@code ka}. */
    private static void product1(MemorySegment p, long o, short[] q, short[] c8, float[] dx, int blocks, int qa, int ka,
                                 float[] y, int yo, int valid) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        for (int b = 0; b < blocks; b++, o += GROUP_BLOCK) {
            ShortVector p0 = ShortVector.zero(S512), p1 = p0, p2 = p0, p3 = p0;
            int xi = qa + b * BLOCK;
            for (int v = 0; v < 8; v++, xi += 4) {
                ShortVector w = ShortVector.fromMemorySegment(S512, p, o + 64L * v, LE);
                p0 = p0.add(w.and((short) 15).mul(q[xi]));
                p1 = p1.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 15).mul(q[xi + 1]));
                p2 = p2.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 15).mul(q[xi + 2]));
                p3 = p3.add(w.lanewise(VectorOperators.LSHR, 12).mul(q[xi + 3]));
            }
            ShortVector t = p0.add(p1).add(p2.add(p3)).sub(c8[ka + b]);
            float s = dx[ka + b];
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + 512, LE).convertShape(VectorOperators.S2I, I512, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + 544, LE).convertShape(VectorOperators.S2I, I512, 0);
            FloatVector d0 = h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector d1 = h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            acc0 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 0)).fma(d0.mul(s), acc0);
            acc1 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 1)).fma(d1.mul(s), acc1);
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
     * {@link #product1} for two vectors (quants from {@code qa} and {@code qb}, blocks from {@code ka} and {@code kb}):
     * each nibble is extracted once and meets both.
     */
    private static void products2(MemorySegment p, long o, short[] q, short[] c8, float[] dx, int blocks, int qa, int ka,
                                  int qb, int kb, float[] y, int ya, int yb, int valid) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        for (int b = 0; b < blocks; b++, o += GROUP_BLOCK) {
            ShortVector s0 = ShortVector.zero(S512), t0 = s0, s1 = s0, t1 = s0;
            int xa = qa + b * BLOCK, xb = qb + b * BLOCK;
            for (int v = 0; v < 512; v += 64, xa += 4, xb += 4) {
                ShortVector w = ShortVector.fromMemorySegment(S512, p, o + v, LE);
                ShortVector w0 = w.and((short) 15);
                ShortVector w1 = w.lanewise(VectorOperators.LSHR, 4).and((short) 15);
                ShortVector w2 = w.lanewise(VectorOperators.LSHR, 8).and((short) 15);
                ShortVector w3 = w.lanewise(VectorOperators.LSHR, 12);
                s0 = s0.add(w0.mul(q[xa])).add(w2.mul(q[xa + 2]));
                t0 = t0.add(w1.mul(q[xa + 1])).add(w3.mul(q[xa + 3]));
                s1 = s1.add(w0.mul(q[xb])).add(w2.mul(q[xb + 2]));
                t1 = t1.add(w1.mul(q[xb + 1])).add(w3.mul(q[xb + 3]));
            }
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + 512, LE).convertShape(VectorOperators.S2I, I512, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S256, p, o + 544, LE).convertShape(VectorOperators.S2I, I512, 0);
            FloatVector d0 = h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector d1 = h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            ShortVector u = s0.add(t0).sub(c8[ka + b]);
            a0 = ((FloatVector) u.convertShape(VectorOperators.S2F, F, 0)).fma(d0.mul(dx[ka + b]), a0);
            b0 = ((FloatVector) u.convertShape(VectorOperators.S2F, F, 1)).fma(d1.mul(dx[ka + b]), b0);
            u = s1.add(t1).sub(c8[kb + b]);
            a1 = ((FloatVector) u.convertShape(VectorOperators.S2F, F, 0)).fma(d0.mul(dx[kb + b]), a1);
            b1 = ((FloatVector) u.convertShape(VectorOperators.S2F, F, 1)).fma(d1.mul(dx[kb + b]), b1);
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

    private static FloatVector low(ByteVector v) {
        return bytesToFloats(v.and((byte) 0x0F).sub((byte) 8));
    }

    private static FloatVector high(ByteVector v) {
        return bytesToFloats(shrBytes(v, 4).and((byte) 0x0F).sub((byte) 8));
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int blocks = cols / BLOCK;
        int b = 0;
        long o = rowOffset;
        int xi = xOff;
        for (; b + 1 < blocks; b += 2, o += 2 * BYTES, xi += 2 * BLOCK) {
            ByteVector v0 = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            ByteVector v1 = ByteVector.fromMemorySegment(B128, s, o + BYTES + 2, LE);
            FloatVector t0 = high(v0).fma(FloatVector.fromArray(F, x, xi + 16), low(v0).mul(FloatVector.fromArray(F, x, xi)));
            FloatVector t1 = high(v1).fma(FloatVector.fromArray(F, x, xi + 48), low(v1).mul(FloatVector.fromArray(F, x, xi + 32)));
            acc0 = t0.fma(bc(f16(s, o)), acc0);
            acc1 = t1.fma(bc(f16(s, o + BYTES)), acc1);
        }
        if (b < blocks) {
            ByteVector v0 = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            FloatVector t0 = high(v0).fma(FloatVector.fromArray(F, x, xi + 16), low(v0).mul(FloatVector.fromArray(F, x, xi)));
            acc0 = t0.fma(bc(f16(s, o)), acc0);
        }
        return VectorOps.sumLanes(acc0.add(acc1));
    }

    @Override
    int fusedVectors() {
        return 4;
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        for (int b = 0; b < blocks; b++, o += BYTES, off += BLOCK) {
            float d = f16(s, o);
            ByteVector v = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            low(v).mul(d).intoArray(out, off);
            high(v).mul(d).intoArray(out, off + 16);
        }
    }
}
