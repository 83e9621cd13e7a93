package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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
 * kernels then do Q4_K's work on the nibbles from the mapped file plus one masked add of 16 per 16 weights. Taking
 * the fifth bits from {@code qh} in the kernel (a shift by the sub-block's bit, then into bit 4) made the loop
 * body so large that it had to be cut to one sub-block per iteration; the 1.1B Q5_K_M model then generated 10.9
 * tokens/s against 15.3 with the masks.
 *
 * <p>Decode products run on a row-interleaved copy with int8 activations, as {@link Q4KMatrix}'s (the same layout,
 * made by the same code) with each sub-block followed by one 32-bit mask per element whose bit i is row i's
 * fifth bit: 5888 bytes per 8192 weights, 4.5% more than the file's 5632. The kernel adds the activation to a second 16-bit sum
 * under that mask (one masked add per 32 weights) and weighs it by 16.
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
        Q4KMatrix.repackKQuant(data, packed, rows, cols, rowBytes, BYTES, 48, 16, groupBytes, GROUP_SUPER, SUB);
    }

    /** Q4_K's layout with each sub-block followed by its 32 fifth-bit masks (one per element): 704 bytes apart. */
    private static final int SC = Q4KMatrix.SC, MN = Q4KMatrix.MN, D = Q4KMatrix.D, DMIN = Q4KMatrix.DMIN, SUBS = Q4KMatrix.SUBS;
    private static final int QH = Q4KMatrix.SUB, SUB = QH + 128;
    /** Bytes of one (group, super-block). */
    static final int GROUP_SUPER = SUBS + 8 * SUB;

    private final MemorySegment packed;
    private final long groupBytes;

    @Override
    int interleavedRows() {
        return Interleaved.ROWS;
    }

    @Override
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        int row0 = g * Interleaved.ROWS;
        // One vector at a time: fused kernels for 2 to 4 vectors (masks and nibbles made once for all) grew past what
        // C2 compiles without boxing vectors and ran at a fifth to a fiftieth of this speed in KernelBench batch.
        for (int v = 0; v < count; v++) {
            product1(packed, g * groupBytes, a.q, a.sum8, a.sum, a.d, v * a.blocks, cols, y, yOff + v * yStride + row0, rows - row0);
        }
    }

    /** Q4_K's kernel plus the fifth bits; kept free of helper calls for the reason {@link Q4_0Matrix#groupProducts} gives. */
    private static void product1(MemorySegment p, long o, short[] q, short[] c8, int[] sums, float[] dx, int xb0, int cols,
                                 float[] y, int yo, int valid) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int subs = cols / 32;
        for (int j = 0; j < subs; j++) {
            int sub = j & 7;
            long os = o + (long) (j >> 3) * GROUP_SUPER;
            long ob = os + SUBS + (long) SUB * sub;
            long oh = ob + QH;
            ShortVector p0 = ShortVector.zero(S512), p1 = p0, p2 = p0, p3 = p0, hs = p0;
            int xb = xb0 + j;
            int xi = xb * 32;
            for (int v = 0; v < 8; v++, xi += 4) {
                ShortVector w = ShortVector.fromMemorySegment(S512, p, ob + 64L * v, LE);
                short q0 = q[xi], q1 = q[xi + 1], q2 = q[xi + 2], q3 = q[xi + 3];
                p0 = p0.add(w.and((short) 15).mul(q0));
                p1 = p1.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 15).mul(q1));
                p2 = p2.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 15).mul(q2));
                p3 = p3.add(w.lanewise(VectorOperators.LSHR, 12).mul(q3));
                long h = oh + 16L * v;
                hs = hs.add(ShortVector.broadcast(S512, q0), VectorMask.fromLong(S512, p.get(INT_LE, h) & 0xFFFFFFFFL));
                hs = hs.add(ShortVector.broadcast(S512, q1), VectorMask.fromLong(S512, p.get(INT_LE, h + 4) & 0xFFFFFFFFL));
                hs = hs.add(ShortVector.broadcast(S512, q2), VectorMask.fromLong(S512, p.get(INT_LE, h + 8) & 0xFFFFFFFFL));
                hs = hs.add(ShortVector.broadcast(S512, q3), VectorMask.fromLong(S512, p.get(INT_LE, h + 12) & 0xFFFFFFFFL));
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
            FloatVector t0 = ((FloatVector) hs.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, 16f), (FloatVector) t.convertShape(VectorOperators.S2F, F, 0));
            FloatVector t1 = ((FloatVector) hs.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.broadcast(F, 16f), (FloatVector) t.convertShape(VectorOperators.S2F, F, 1));
            acc0 = t0.fma(e0.mul(s), acc0);
            acc1 = t1.fma(e1.mul(s), acc1);
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
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    int fusedVectors() {
        return 2;
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
