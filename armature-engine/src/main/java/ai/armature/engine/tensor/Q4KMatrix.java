package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K weights: super-blocks of 256 elements (144 bytes): f16 {@code d}, f16 {@code dmin}, 12 bytes packing eight
 * 6-bit scales and eight 6-bit mins, then 128 bytes of nibbles. Each 64-element chunk j uses 32 bytes: low nibbles
 * are sub-block 2j, high nibbles sub-block 2j+1; element value {@code d * scale * q - dmin * min}.
 *
 * <p>The packed header is decoded once, when the matrix is made, into a float array holding {@code d * scale} and
 * {@code -dmin * min} for every 32-element sub-block (a quarter byte per weight, on the heap). The kernels then
 * read only nibbles from the mapped file and turn each 16 of them into weights with one multiply-add, the same
 * work per weight as Q4_0. Decoding the header in the kernel instead made it twice as slow: the scalar unpacking
 * and the separate min term cost more than the nibbles, and the larger loop body pushed C2 past its inlining
 * budget, which boxes vectors.
 *
 * <p>Decode products (1 to {@link #fusedVectors()} vectors) run instead on a copy repacked at load into
 * {@link Interleaved} groups of 32 rows, with activations quantized to int8 per 32 elements (one block per
 * sub-block), as {@link Q4_0Matrix} explains. Per group and super-block the copy holds the 32 rows' {@code d} and
 * {@code dmin} as floats, then for each sub-block eight 64-byte vectors of nibbles (16-bit lane i: four elements of
 * row i) and the rows' 6-bit scales and mins as bytes: 4864 bytes per 8192 weights, 6% more than the file's 4608. The kernel sums {@code (q - 8) * qx} exactly in 16 bits per sub-block and applies scale and min as
 * {@code dx * (d*sc * T + sum(qx) * (8 * d*sc - dmin*m))} on 16 rows per vector, about 0.7 vector operations per
 * 32 weights on top of Q4_0's four.
 */
final class Q4KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 144;
    /** Floats of {@link #scales} per super-block: (d * scale, -dmin * min) for each of its 8 sub-blocks. */
    private static final int SCALES_PER_BLOCK = 16;

    /** For super-block k of the whole matrix (rows back to back), its 16 floats start at {@code 16 * k}. */
    private final float[] scales;

    Q4KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
        long blocks = (long) rows * (cols / BLOCK);
        this.scales = new float[Math.toIntExact(blocks * SCALES_PER_BLOCK)];
        for (long k = 0; k < blocks; k++) {
            decodeHeader(data, k * BYTES, scales, (int) (k * SCALES_PER_BLOCK));
        }
        this.groupBytes = (long) (cols / BLOCK) * GROUP_SUPER;
        this.packed = Interleaved.allocate(rows, groupBytes);
        MemorySegment copy = packed;
        repackKQuant(data, copy, rows, cols, rowBytes, BYTES, groupBytes, GROUP_SUPER, SUB, SC,
                (src, s, ds, lane) -> writeNibbles(data, copy, src, s, ds, lane));
    }

    /**
     * Offsets in one (group, super-block) of the interleaved copy, in the order the kernel reads it: the 32 rows' d
     * and dmin as floats (converting halves in the kernel cost more than the 128 extra bytes), then from {@link #SUBS}
     * the 8 sub-blocks, {@link #SUB} bytes apart: 512 bytes of nibbles, then the rows' scale bytes (row i at
     * {@code SC + i}) and min bytes. One sequential stream: with all scales and mins after all nibbles of the
     * super-block, the kernel streamed from memory at half the speed.
     */
    static final int D = 0, DMIN = 128, SUBS = 256, SC = 512, MN = 544, SUB = 576;
    /** Bytes of one (group, super-block). */
    static final int GROUP_SUPER = SUBS + 8 * SUB;

    private final MemorySegment packed;
    private final long groupBytes;

    /**
     * Fills an interleaved copy in the layout shared by Q4_K and Q5_K: per (group of 32 rows, super-block) the rows'
     * d and dmin as floats at {@link #D} and {@link #DMIN}, then from {@link #SUBS} the 8 sub-blocks, {@code sub}
     * bytes apart, each with the rows' scale bytes at {@code sc} and min bytes 32 further; {@code quants} writes the
     * sub-block's quants for one row. The file's super-blocks are {@code bytes} long with the 16-byte header at 0.
     */
    static void repackKQuant(MemorySegment data, MemorySegment packed, int rows, int cols, long rowBytes, int bytes,
                             long groupBytes, int groupSuper, int sub, int sc, SubBlockWriter quants) {
        int supers = cols / BLOCK;
        Interleaved.forEachRow(rows, r -> {
            long dst = Interleaved.groupOffset(r, groupBytes);
            int lane = Interleaved.lane(r);
            for (int k = 0; k < supers; k++, dst += groupSuper) {
                long src = r * rowBytes + (long) k * bytes;
                long h0 = data.get(LONG_LE, src);
                long h1 = data.get(LONG_LE, src + 8);
                long lo = (h0 >>> 32) | (h1 << 32);
                int hi = (int) (h1 >>> 32);
                long scs = scales(lo, hi);
                long mns = mins(lo, hi);
                packed.set(FLOAT_LE, dst + D + 4 * lane, Float.float16ToFloat((short) h0));
                packed.set(FLOAT_LE, dst + DMIN + 4 * lane, Float.float16ToFloat((short) (h0 >>> 16)));
                for (int s = 0; s < 8; s++) {
                    long ds = dst + SUBS + (long) sub * s;
                    packed.set(java.lang.foreign.ValueLayout.JAVA_BYTE, ds + sc + lane, (byte) (scs >>> (8 * s)));
                    packed.set(java.lang.foreign.ValueLayout.JAVA_BYTE, ds + sc + 32 + lane, (byte) (mns >>> (8 * s)));
                    quants.write(src, s, ds, lane);
                }
            }
        });
    }

    /** Writes the quants of sub-block {@code s} of the file's super-block at {@code src} for the row in {@code lane}. */
    @FunctionalInterface
    interface SubBlockWriter {
        void write(long src, int s, long ds, int lane);
    }

    /** Q4_K's quants: eight 64-byte vectors of nibbles, 16-bit lane i holding four consecutive elements of row i. */
    private static void writeNibbles(MemorySegment data, MemorySegment packed, long src, int s, long ds, int lane) {
        long chunk = src + 16 + 32L * (s >> 1);
        int shift = 4 * (s & 1);
        for (int v = 0; v < 8; v++) {
            int word = data.get(INT_LE, chunk + 4 * v) >>> shift;
            packed.set(SHORT_LE, ds + 64L * v + 2 * lane, (short) Integer.compress(word, 0x0F0F0F0F));
        }
    }

    @Override
    int interleavedRows() {
        return Interleaved.ROWS;
    }

    @Override
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        int row0 = g * Interleaved.ROWS;
        long o = g * groupBytes;
        int valid = rows - row0;
        // Pairs of vectors through the two-vector kernel, an odd last one alone: the second pass over the group's
        // 39 KB comes from the cache. One kernel for 2 to 4 vectors was too large for C2 (past its inlining budget
        // the last multiply-adds ran out of line on boxed vectors: 150-300 KB allocated per call, 26-31 G
        // weight-vector products/s at 4 vectors against 34 for one).
        int v = 0;
        for (; v + 2 <= count; v += 2) {
            products2(packed, o, a.q, a.sum8, a.sum, a.d, v * a.blocks, (v + 1) * a.blocks, cols, y, yOff + v * yStride + row0,
                    yOff + (v + 1) * yStride + row0, valid);
        }
        if (v < count) {
            product1(packed, o, a.q, a.sum8, a.sum, a.d, v * a.blocks, cols, y, yOff + v * yStride + row0, valid);
        }
    }

    /**
     * {@link #product1} for two vectors, whose blocks start at {@code xa} and {@code xb} (in blocks of 32): each
     * nibble is extracted once and meets both, and the scales are converted once.
     */
    private static void products2(MemorySegment p, long o, short[] q, short[] c8, int[] sums, float[] dx, int xa, int xb,
                                  int cols, float[] y, int ya, int yb, int valid) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        ShortVector c12 = ShortVector.broadcast(S512, (short) 12);
        int subs = cols / 32;
        for (int j = 0; j < subs; j++) {
            int sub = j & 7;
            long os = o + (long) (j >> 3) * GROUP_SUPER;
            long ob = os + SUBS + (long) SUB * sub;
            ShortVector p0 = ShortVector.zero(S512), r0 = p0, p1 = p0, r1 = p0;
            int ka = xa + j, kb = xb + j;
            int ia = ka * 32, ib = kb * 32;
            for (int v = 0; v < 8; v++, ia += 4, ib += 4) {
                IntVector w = IntVector.fromMemorySegment(I512, p, ob + 64L * v, LE);
                ShortVector ws = w.reinterpretAsShorts();
                ShortVector w0 = ws.and((short) 15);
                ShortVector w1 = w.lanewise(VectorOperators.LSHR, 4).reinterpretAsShorts().and((short) 15);
                ShortVector w2 = w.lanewise(VectorOperators.LSHR, 8).reinterpretAsShorts().and((short) 15);
                ShortVector w3 = ws.lanewise(VectorOperators.LSHR, c12);
                p0 = p0.add(w0.mul(q[ia])).add(w2.mul(q[ia + 2]));
                r0 = r0.add(w1.mul(q[ia + 1])).add(w3.mul(q[ia + 3]));
                p1 = p1.add(w0.mul(q[ib])).add(w2.mul(q[ib + 2]));
                r1 = r1.add(w1.mul(q[ib + 1])).add(w3.mul(q[ib + 3]));
            }
            long sc = ob + SC;
            long mn = ob + MN;
            FloatVector e0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D, LE));
            FloatVector e1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D + 64, LE));
            FloatVector n0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN, LE));
            FloatVector n1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN + 64, LE));
            FloatVector m0 = e0.mul(8f).sub(n0);
            FloatVector m1 = e1.mul(8f).sub(n1);
            ShortVector t = p0.add(r0).sub(c8[ka]);
            float s = dx[ka];
            FloatVector sx = FloatVector.broadcast(F, s * sums[ka]);
            a0 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 0)).fma(e0.mul(s), a0);
            b0 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 1)).fma(e1.mul(s), b0);
            a0 = m0.fma(sx, a0);
            b0 = m1.fma(sx, b0);
            t = p1.add(r1).sub(c8[kb]);
            s = dx[kb];
            sx = FloatVector.broadcast(F, s * sums[kb]);
            a1 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 0)).fma(e0.mul(s), a1);
            b1 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 1)).fma(e1.mul(s), b1);
            a1 = m0.fma(sx, a1);
            b1 = m1.fma(sx, b1);
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
     * Kept free of helper calls for the reason {@link Q4_0Matrix#groupProducts} gives. C2 has no immediate form for
     * 16-bit vector shifts (it reloads the count before each one), so the nibbles come from 32-bit immediate shifts
     * whose bits crossing from the next 16-bit lane the mask drops, and the top nibble (no mask) from a shift by a
     * count vector hoisted out of the loop.
     */
    private static void product1(MemorySegment p, long o, short[] q, short[] c8, int[] sums, float[] dx, int xb0, int cols,
                                 float[] y, int yo, int valid) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        ShortVector c12 = ShortVector.broadcast(S512, (short) 12);
        int subs = cols / 32;
        for (int j = 0; j < subs; j++) {
            int sub = j & 7;
            long os = o + (long) (j >> 3) * GROUP_SUPER; // this sub-block's super-block
            long ob = os + SUBS + (long) SUB * sub;
            ShortVector p0 = ShortVector.zero(S512), p1 = p0, p2 = p0, p3 = p0;
            int xb = xb0 + j;
            int xi = xb * 32;
            for (int v = 0; v < 8; v++, xi += 4) {
                IntVector w = IntVector.fromMemorySegment(I512, p, ob + 64L * v, LE);
                ShortVector ws = w.reinterpretAsShorts();
                p0 = p0.add(ws.and((short) 15).mul(q[xi]));
                p1 = p1.add(w.lanewise(VectorOperators.LSHR, 4).reinterpretAsShorts().and((short) 15).mul(q[xi + 1]));
                p2 = p2.add(w.lanewise(VectorOperators.LSHR, 8).reinterpretAsShorts().and((short) 15).mul(q[xi + 2]));
                p3 = p3.add(ws.lanewise(VectorOperators.LSHR, c12).mul(q[xi + 3]));
            }
            ShortVector t = p0.add(p1).add(p2.add(p3)).sub(c8[xb]);
            float s = dx[xb];
            FloatVector sx = FloatVector.broadcast(F, s * sums[xb]);
            long sc = ob + SC;
            long mn = ob + MN;
            FloatVector e0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D, LE));
            FloatVector e1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D + 64, LE));
            FloatVector n0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN, LE));
            FloatVector n1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN + 64, LE));
            acc0 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 0)).fma(e0.mul(s), acc0);
            acc1 = ((FloatVector) t.convertShape(VectorOperators.S2F, F, 1)).fma(e1.mul(s), acc1);
            acc0 = e0.mul(8f).sub(n0).fma(sx, acc0);
            acc1 = e1.mul(8f).sub(n1).fma(sx, acc1);
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
     * Decodes the 16-byte header shared by Q4_K and Q5_K super-blocks (f16 d, f16 dmin, 12 bytes of packed 6-bit
     * scales and mins) at byte {@code o} into {@code out[at ..]}: {@code d * scale} and {@code -dmin * min} for each
     * of the 8 sub-blocks, interleaved.
     */
    static void decodeHeader(MemorySegment s, long o, float[] out, int at) {
        long h0 = s.get(LONG_LE, o);
        long h1 = s.get(LONG_LE, o + 8);
        float d = Float.float16ToFloat((short) h0);
        float dmin = Float.float16ToFloat((short) (h0 >>> 16));
        long lo = (h0 >>> 32) | (h1 << 32);
        int hi = (int) (h1 >>> 32);
        long sc = scales(lo, hi);
        long mn = mins(lo, hi);
        for (int i = 0; i < 8; i++) {
            out[at + 2 * i] = d * ((int) (sc >>> (8 * i)) & 0xFF);
            out[at + 2 * i + 1] = -(dmin * ((int) (mn >>> (8 * i)) & 0xFF));
        }
    }

    /**
     * The eight 6-bit scales, one per byte, from the 12 packed bytes (bytes 0..7 in {@code lo}, 8..11 in {@code hi}),
     * unpacked with whole-word bit operations as ggml's get_scale_min_k4 does per byte: scales 0-3 are the low 6
     * bits of bytes 0-3; scales 4-7 take their low 4 bits from bytes 8-11 and their top 2 bits from bytes 0-3.
     */
    static long scales(long lo, int hi) {
        long first = lo & 0x3F3F3F3FL;
        int second = (hi & 0x0F0F0F0F) | ((int) (lo >>> 2) & 0x30303030);
        return first | ((long) second << 32);
    }

    /** The eight 6-bit mins: bytes 4-7 low 6 bits; then high nibbles of bytes 8-11 with the top 2 bits of bytes 4-7. */
    static long mins(long lo, int hi) {
        long first = (lo >>> 32) & 0x3F3F3F3FL;
        int second = ((hi >>> 4) & 0x0F0F0F0F) | ((int) (lo >>> 34) & 0x30303030);
        return first | ((long) second << 32);
    }

    private static FloatVector lowNibbles(ByteVector v) {
        return bytesToFloats(v.and((byte) 0x0F));
    }

    private static FloatVector highNibbles(ByteVector v) {
        return bytesToFloats(shrBytes(v, 4).and((byte) 0x0F));
    }

    /** Offset in {@link #scales} of the row stored at byte {@code rowOffset} (rows are whole super-blocks). */
    private static int scaleIndex(long rowOffset) {
        return (int) (rowOffset / BYTES) * SCALES_PER_BLOCK;
    }

    /** Nibble bytes of 64-element chunk {@code c} of the row at {@code rowOffset}. */
    private static long chunkOffset(long rowOffset, int c) {
        return rowOffset + (long) (c >> 2) * BYTES + 16 + 32 * (c & 3);
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        float[] sc = scales;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int chunks = cols >> 6;
        int si = scaleIndex(rowOffset);
        int xi = xOff;
        for (int c = 0; c < chunks; c++, xi += 64, si += 4) {
            long q = chunkOffset(rowOffset, c);
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            FloatVector d0 = bc(sc[si]);
            FloatVector m0 = bc(sc[si + 1]);
            FloatVector d1 = bc(sc[si + 2]);
            FloatVector m1 = bc(sc[si + 3]);
            acc0 = lowNibbles(va).fma(d0, m0).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = lowNibbles(vb).fma(d0, m0).fma(FloatVector.fromArray(F, x, xi + 16), acc1);
            acc0 = highNibbles(va).fma(d1, m1).fma(FloatVector.fromArray(F, x, xi + 32), acc0);
            acc1 = highNibbles(vb).fma(d1, m1).fma(FloatVector.fromArray(F, x, xi + 48), acc1);
        }
        return VectorOps.sumLanes(acc0.add(acc1));
    }

    @Override
    int fusedVectors() {
        return Interleaved.MAX_VECTORS;
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        float[] sc = scales;
        int chunks = cols >> 6;
        int si = scaleIndex(rowOffset);
        for (int c = 0; c < chunks; c++, off += 64, si += 4) {
            long q = chunkOffset(rowOffset, c);
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            FloatVector d0 = bc(sc[si]);
            FloatVector m0 = bc(sc[si + 1]);
            FloatVector d1 = bc(sc[si + 2]);
            FloatVector m1 = bc(sc[si + 3]);
            lowNibbles(va).fma(d0, m0).intoArray(out, off);
            lowNibbles(vb).fma(d0, m0).intoArray(out, off + 16);
            highNibbles(va).fma(d1, m1).intoArray(out, off + 32);
            highNibbles(vb).fma(d1, m1).intoArray(out, off + 48);
        }
    }
}
