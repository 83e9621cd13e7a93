package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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

    /** Two vectors only, as {@link Q4KMatrix#dots} explains: each 16 weights are made once and meet both. */
    @Override
    void dots(long rowOffset, float[] x, int xOff, int count, float[] out) {
        MemorySegment s = data;
        float[] sc = scales;
        int[] fb = fifthBits;
        int c = cols;
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        int subBlocks = cols >> 5;
        int block = (int) (rowOffset / BYTES);
        int si = block * SCALES_PER_BLOCK;
        int bi = block * 8;
        for (int h = 0; h < subBlocks; h++, si += 2, bi++) {
            // Sub-block h is the low (h even) or high (h odd) nibbles of the 32 bytes of chunk h / 2.
            long q = rowOffset + (long) (h >> 3) * BYTES + 48 + 32 * ((h >> 1) & 3);
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            if ((h & 1) != 0) {
                va = shrBytes(va, 4);
                vb = shrBytes(vb, 4);
            }
            int bits = fb[bi];
            FloatVector d = bc(sc[si]);
            FloatVector m = bc(sc[si + 1]);
            FloatVector w0 = withFifthBits(lowNibbles(va), bits).fma(d, m);
            FloatVector w1 = withFifthBits(lowNibbles(vb), bits >>> 16).fma(d, m);
            int xi = xOff + 32 * h;
            a0 = w0.fma(FloatVector.fromArray(F, x, xi), a0);
            b0 = w1.fma(FloatVector.fromArray(F, x, xi + 16), b0);
            a1 = w0.fma(FloatVector.fromArray(F, x, xi + c), a1);
            b1 = w1.fma(FloatVector.fromArray(F, x, xi + c + 16), b1);
        }
        out[0] = a0.add(b0).reduceLanes(VectorOperators.ADD);
        out[1] = a1.add(b1).reduceLanes(VectorOperators.ADD);
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
