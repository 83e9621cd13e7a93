package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    int fusedVectors() {
        return 2;
    }

    /**
     * Two vectors only: each 16 weights are made once and meet both (two chains per vector). Measured in
     * {@code bench serving} on the 1.1B Q4_K_M model: 2 sequences 22.7 tok/s fused against 15.9 tiled, but 3 and 4
     * sequences 17.4 and 18.4 fused against 20.0 and 33.3 tiled, so larger batches take the tiled path.
     */
    @Override
    void dots(long rowOffset, float[] x, int xOff, int count, float[] out) {
        MemorySegment s = data;
        float[] sc = scales;
        int c = cols;
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        int subBlocks = cols >> 5;
        int si = scaleIndex(rowOffset);
        for (int h = 0; h < subBlocks; h++, si += 2) {
            // Sub-block h is the low (h even) or high (h odd) nibbles of the 32 bytes of chunk h / 2.
            long q = chunkOffset(rowOffset, h >> 1);
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            if ((h & 1) != 0) {
                va = shrBytes(va, 4);
                vb = shrBytes(vb, 4);
            }
            FloatVector d = bc(sc[si]);
            FloatVector m = bc(sc[si + 1]);
            FloatVector w0 = lowNibbles(va).fma(d, m);
            FloatVector w1 = lowNibbles(vb).fma(d, m);
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
