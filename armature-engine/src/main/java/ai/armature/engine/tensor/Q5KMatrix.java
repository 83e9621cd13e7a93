package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q5_K weights: super-blocks of 256 elements (176 bytes): the Q4_K header (f16 {@code d}, f16 {@code dmin}, 12
 * bytes of packed 6-bit scales and mins), 32 bytes {@code qh} of fifth bits, then 128 bytes of nibbles. As in Q4_K,
 * 64-element chunk j takes low nibbles of its 32 bytes for sub-block 2j and high nibbles for 2j+1; the fifth bit
 * of element l of sub-block s is bit s of {@code qh[l]}. Value {@code d * scale * q - dmin * min}, q in 0..31.
 *
 * <p>Two things are decoded once, when the matrix is made: the scales, into floats as {@link Q4KMatrix} does, and
 * the fifth bits, regrouped into one 32-bit mask per sub-block (together 0.375 bytes per weight, on the heap). The
 * float kernels (prompt batches) then do Q4_K's work on the nibbles from the mapped file plus one masked add of 16 per 16 weights. Taking
 * the fifth bits from {@code qh} in the kernel (a shift by the sub-block's bit, then into bit 4) made the loop
 * body so large that it had to be cut to one sub-block per iteration; the 1.1B Q5_K_M model then generated 10.9
 * tokens/s against 15.3 with the masks.
 *
 * <p>Decode products run on a row-interleaved copy with int8 activations in {@link Q4KMatrix}'s layout (the rows'
 * d and dmin, then per sub-block its quants followed by the rows' scale and min bytes), except for the quants: each
 * 16-bit lane holds three elements of its row as {@code q - 16} in 5-bit two's complement (bits 11-15, 6-10 and
 * 1-5), eleven 64-byte vectors per sub-block (the last with two elements). One arithmetic shift (two for the lower
 * fields) gives each signed weight, the same work per weight as Q4_K's nibbles, where the previous layout (Q4_K's
 * nibbles plus a 32-bit fifth-bit mask per element, added under a mask) spent 31 vector and mask operations per 128
 * weights against Q4_K's 19 and ran at 9-10 G weights/s streaming per core against 18-21. The copy takes 6400 bytes
 * per 8192 weights, 13.6% more than the file's 5632. Batches of 2 to 4 vectors run a two-vector kernel per pair.
 */
final class Q5KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 176;
    private static final int SCALES_PER_BLOCK = 16;
    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;

    /** For super-block k of the whole matrix (rows back to back), its 16 floats start at {@code 16 * k}. */
    private final float[] scales;
    /** For super-block k, sub-block s: bit l is the fifth bit of element l of that sub-block. */
    private final int[] fifthBits;

    Q5KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_K, data, rows, cols);
        long blocks = (long) rows * (cols / BLOCK);
        this.scales = new float[Math.toIntExact(blocks * SCALES_PER_BLOCK)];
        this.fifthBits = new int[Math.toIntExact(blocks * 8)];
        for (long k = 0; k < blocks; k++) {
            long o = k * BYTES;
            Q4KMatrix.decodeHeader(data, o, scales, (int) (k * SCALES_PER_BLOCK));
            ByteVector qh = ByteVector.fromMemorySegment(B256, data, o + 16, LE);
            for (int s = 0; s < 8; s++) {
                fifthBits[(int) (k * 8) + s] = (int) qh.and((byte) (1 << s)).compare(VectorOperators.NE, (byte) 0).toLong();
            }
        }
        this.groupBytes = (long) (cols / BLOCK) * GROUP_SUPER;
        this.packed = Interleaved.allocate(rows, groupBytes);
        MemorySegment copy = packed;
        Q4KMatrix.repackKQuant(data, copy, rows, cols, rowBytes, BYTES, groupBytes, GROUP_SUPER, SUB, SC,
                (src, s, ds, lane) -> writeFields(data, copy, src, s, ds, lane));
    }

    /**
     * Offsets in one (group, super-block): d and dmin as in Q4_K, then 8 sub-blocks {@link #SUB} bytes apart, each
     * {@link #LOADS} vectors of 5-bit fields, then the rows' scale bytes at {@link #SC} and min bytes at SC + 32.
     */
    private static final int D = Q4KMatrix.D, DMIN = Q4KMatrix.DMIN, SUBS = Q4KMatrix.SUBS;
    private static final int LOADS = 11, SC = 64 * LOADS, SUB = SC + 64;
    /** Bytes of one (group, super-block). */
    static final int GROUP_SUPER = SUBS + 8 * SUB;

    /**
     * Sub-block {@code s} of the file's super-block at {@code src} for the row in {@code lane}: element 3v + f in
     * field f (0: bits 11-15, 1: bits 6-10, 2: bits 1-5) of the lane's word in vector v, as {@code q - 16}.
     */
    private static void writeFields(MemorySegment data, MemorySegment packed, long src, int s, long ds, int lane) {
        long qs = src + 48 + 32L * (s >> 1);
        int shift = 4 * (s & 1);
        int word = 0;
        for (int l = 0; l < 32; l++) {
            int nibble = (data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, qs + l) >> shift) & 15;
            int fifth = (data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, src + 16 + l) >> s) & 1;
            int signed = (nibble | fifth << 4) ^ 16; // q - 16, 5-bit two's complement
            int f = l % 3;
            word |= signed << (11 - 5 * f);
            if (f == 2 || l == 31) {
                packed.set(SHORT_LE, ds + 64L * (l / 3) + 2 * lane, (short) word);
                word = 0;
            }
        }
    }

    private final MemorySegment packed;
    private final long groupBytes;

    @Override
    int interleavedRows() {
        return Interleaved.ROWS;
    }

    @Override
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        int row0 = g * Interleaved.ROWS;
        long o = g * groupBytes;
        int valid = rows - row0;
        // Pairs of vectors, an odd last one alone, for the reason Q4KMatrix.groupProducts gives.
        int v = 0;
        for (; v + 2 <= count; v += 2) {
            products2(packed, o, a.q, a.sum, a.d, v * a.blocks, (v + 1) * a.blocks, cols, y, yOff + v * yStride + row0,
                    yOff + (v + 1) * yStride + row0, valid);
        }
        if (v < count) {
            product1(packed, o, a.q, a.sum, a.d, v * a.blocks, cols, y, yOff + v * yStride + row0, valid);
        }
    }

    /** {@link #product1} for two vectors whose blocks start at {@code xa} and {@code xb}: each field is extracted once. */
    private static void products2(MemorySegment p, long o, short[] q, int[] sums, float[] dx, int xa, int xb, int cols,
                                  float[] y, int ya, int yb, int valid) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        ShortVector c11 = ShortVector.broadcast(S512, (short) 11);
        int subs = cols / 32;
        for (int j = 0; j < subs; j++) {
            int sub = j & 7;
            long os = o + (long) (j >> 3) * GROUP_SUPER;
            long ob = os + SUBS + (long) SUB * sub;
            ShortVector p0 = ShortVector.zero(S512), p1 = p0, p2 = p0, r0 = p0, r1 = p0, r2 = p0;
            int ka = xa + j, kb = xb + j;
            int ia = ka * 32, ib = kb * 32;
            for (int v = 0; v < LOADS - 1; v++, ia += 3, ib += 3) {
                IntVector w = IntVector.fromMemorySegment(I512, p, ob + 64L * v, LE);
                ShortVector f0 = w.reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11);
                ShortVector f1 = w.lanewise(VectorOperators.LSHL, 5).reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11);
                ShortVector f2 = w.lanewise(VectorOperators.LSHL, 10).reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11);
                p0 = p0.add(f0.mul(q[ia]));
                p1 = p1.add(f1.mul(q[ia + 1]));
                p2 = p2.add(f2.mul(q[ia + 2]));
                r0 = r0.add(f0.mul(q[ib]));
                r1 = r1.add(f1.mul(q[ib + 1]));
                r2 = r2.add(f2.mul(q[ib + 2]));
            }
            IntVector w = IntVector.fromMemorySegment(I512, p, ob + 64L * (LOADS - 1), LE); // elements 30 and 31
            ShortVector f0 = w.reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11);
            ShortVector f1 = w.lanewise(VectorOperators.LSHL, 5).reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11);
            p0 = p0.add(f0.mul(q[ia]));
            p1 = p1.add(f1.mul(q[ia + 1]));
            r0 = r0.add(f0.mul(q[ib]));
            r1 = r1.add(f1.mul(q[ib + 1]));
            long sc = ob + SC;
            long mn = sc + 32;
            FloatVector e0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D, LE));
            FloatVector e1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D + 64, LE));
            FloatVector n0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN, LE));
            FloatVector n1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN + 64, LE));
            FloatVector m0 = e0.mul(16f).sub(n0);
            FloatVector m1 = e1.mul(16f).sub(n1);
            // The three 16-bit sums of a vector widened and added as floats (exact: |total| <= 65024).
            float s = dx[ka];
            FloatVector sx = FloatVector.broadcast(F, s * sums[ka]);
            a0 = ((FloatVector) p0.convertShape(VectorOperators.S2F, F, 0)).add(p1.convertShape(VectorOperators.S2F, F, 0))
                    .add(p2.convertShape(VectorOperators.S2F, F, 0)).fma(e0.mul(s), a0);
            b0 = ((FloatVector) p0.convertShape(VectorOperators.S2F, F, 1)).add(p1.convertShape(VectorOperators.S2F, F, 1))
                    .add(p2.convertShape(VectorOperators.S2F, F, 1)).fma(e1.mul(s), b0);
            a0 = m0.fma(sx, a0);
            b0 = m1.fma(sx, b0);
            s = dx[kb];
            sx = FloatVector.broadcast(F, s * sums[kb]);
            a1 = ((FloatVector) r0.convertShape(VectorOperators.S2F, F, 0)).add(r1.convertShape(VectorOperators.S2F, F, 0))
                    .add(r2.convertShape(VectorOperators.S2F, F, 0)).fma(e0.mul(s), a1);
            b1 = ((FloatVector) r0.convertShape(VectorOperators.S2F, F, 1)).add(r1.convertShape(VectorOperators.S2F, F, 1))
                    .add(r2.convertShape(VectorOperators.S2F, F, 1)).fma(e1.mul(s), b1);
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
     * Rows of one group times one quantized vector. Three 16-bit sums per sub-block, one per field, each over at most
     * 11 elements: |sum (q - 16) qx| <= 11 * 16 * 127 = 22352 fits in 16 bits (two fields together could reach 42672,
     * so they are widened before being added). Kept free of helper calls for the reason
     * {@link Q4_0Matrix#groupProducts} gives.
     */
    private static void product1(MemorySegment p, long o, short[] q, int[] sums, float[] dx, int xb0, int cols,
                                 float[] y, int yo, int valid) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        ShortVector c11 = ShortVector.broadcast(S512, (short) 11);
        int subs = cols / 32;
        for (int j = 0; j < subs; j++) {
            int sub = j & 7;
            long os = o + (long) (j >> 3) * GROUP_SUPER;
            long ob = os + SUBS + (long) SUB * sub;
            ShortVector p0 = ShortVector.zero(S512), p1 = p0, p2 = p0;
            int xb = xb0 + j;
            int xi = xb * 32;
            for (int v = 0; v < LOADS - 1; v++, xi += 3) {
                IntVector w = IntVector.fromMemorySegment(I512, p, ob + 64L * v, LE);
                p0 = p0.add(w.reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11).mul(q[xi]));
                p1 = p1.add(w.lanewise(VectorOperators.LSHL, 5).reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11).mul(q[xi + 1]));
                p2 = p2.add(w.lanewise(VectorOperators.LSHL, 10).reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11).mul(q[xi + 2]));
            }
            IntVector w = IntVector.fromMemorySegment(I512, p, ob + 64L * (LOADS - 1), LE); // elements 30 and 31
            p0 = p0.add(w.reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11).mul(q[xi]));
            p1 = p1.add(w.lanewise(VectorOperators.LSHL, 5).reinterpretAsShorts().lanewise(VectorOperators.ASHR, c11).mul(q[xi + 1]));
            IntVector t0 = ((IntVector) p0.convertShape(VectorOperators.S2I, I512, 0))
                    .add((IntVector) p1.convertShape(VectorOperators.S2I, I512, 0))
                    .add((IntVector) p2.convertShape(VectorOperators.S2I, I512, 0));
            IntVector t1 = ((IntVector) p0.convertShape(VectorOperators.S2I, I512, 1))
                    .add((IntVector) p1.convertShape(VectorOperators.S2I, I512, 1))
                    .add((IntVector) p2.convertShape(VectorOperators.S2I, I512, 1));
            float s = dx[xb];
            FloatVector sx = FloatVector.broadcast(F, s * sums[xb]);
            long sc = ob + SC;
            long mn = sc + 32;
            FloatVector e0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D, LE));
            FloatVector e1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, sc + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + D + 64, LE));
            FloatVector n0 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN, LE));
            FloatVector n1 = ((FloatVector) ByteVector.fromMemorySegment(B128, p, mn + 16, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromMemorySegment(F, p, os + DMIN + 64, LE));
            // value = d*sc * (q - 16) + (16 * d*sc - dmin*m)
            acc0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(e0.mul(s), acc0);
            acc1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(e1.mul(s), acc1);
            acc0 = e0.mul(16f).sub(n0).fma(sx, acc0);
            acc1 = e1.mul(16f).sub(n1).fma(sx, acc1);
        }
        if (valid >= Interleaved.ROWS) {
            acc0.intoArray(y, yo);
            acc1.intoArray(y, yo + 16);
        } else {
            acc0.intoArray(y, yo, F.indexInRange(0, valid));
            acc1.intoArray(y, yo + 16, F.indexInRange(16, valid));
        }
    }

    private static FloatVector lowNibbles(ByteVector v) {
        return bytesToFloats(v.and((byte) 0x0F));
    }

    private static FloatVector highNibbles(ByteVector v) {
        return bytesToFloats(shrBytes(v, 4).and((byte) 0x0F));
    }

    /** {@code q + 16} in the lanes whose bit is set in the low 16 bits of {@code bits}. */
    private static FloatVector withFifthBits(FloatVector q, int bits) {
        return q.add(16f, VectorMask.fromLong(F, bits & 0xFFFF));
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        float[] sc = scales;
        int[] fb = fifthBits;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int chunks = cols >> 6;
        int block = (int) (rowOffset / BYTES);
        int si = block * SCALES_PER_BLOCK;
        int bi = block * 8;
        int xi = xOff;
        for (int c = 0; c < chunks; c++, xi += 64, si += 4, bi += 2) {
            long q = rowOffset + (long) (c >> 2) * BYTES + 48 + 32 * (c & 3);
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            int lo = fb[bi];
            int hi = fb[bi + 1];
            FloatVector d0 = bc(sc[si]);
            FloatVector m0 = bc(sc[si + 1]);
            FloatVector d1 = bc(sc[si + 2]);
            FloatVector m1 = bc(sc[si + 3]);
            acc0 = withFifthBits(lowNibbles(va), lo).fma(d0, m0).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = withFifthBits(lowNibbles(vb), lo >>> 16).fma(d0, m0).fma(FloatVector.fromArray(F, x, xi + 16), acc1);
            acc0 = withFifthBits(highNibbles(va), hi).fma(d1, m1).fma(FloatVector.fromArray(F, x, xi + 32), acc0);
            acc1 = withFifthBits(highNibbles(vb), hi >>> 16).fma(d1, m1).fma(FloatVector.fromArray(F, x, xi + 48), acc1);
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
        int[] fb = fifthBits;
        int chunks = cols >> 6;
        int block = (int) (rowOffset / BYTES);
        int si = block * SCALES_PER_BLOCK;
        int bi = block * 8;
        for (int c = 0; c < chunks; c++, off += 64, si += 4, bi += 2) {
            long q = rowOffset + (long) (c >> 2) * BYTES + 48 + 32 * (c & 3);
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            int lo = fb[bi];
            int hi = fb[bi + 1];
            FloatVector d0 = bc(sc[si]);
            FloatVector m0 = bc(sc[si + 1]);
            FloatVector d1 = bc(sc[si + 2]);
            FloatVector m1 = bc(sc[si + 3]);
            withFifthBits(lowNibbles(va), lo).fma(d0, m0).intoArray(out, off);
            withFifthBits(lowNibbles(vb), lo >>> 16).fma(d0, m0).intoArray(out, off + 16);
            withFifthBits(highNibbles(va), hi).fma(d1, m1).intoArray(out, off + 32);
            withFifthBits(highNibbles(vb), hi >>> 16).fma(d1, m1).intoArray(out, off + 48);
        }
    }
}
