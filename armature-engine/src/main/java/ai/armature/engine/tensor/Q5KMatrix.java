package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q5_K weights: super-blocks of 256 elements (176 bytes): the Q4_K header (f16 {@code d}, f16 {@code dmin}, 12
 * bytes of packed 6-bit scales and mins), 32 bytes {@code qh} of fifth bits, then 128 bytes of nibbles. As in Q4_K,
 * 64-element chunk j takes low nibbles of its 32 bytes for sub-block 2j and high nibbles for 2j+1; the fifth bit
 * of element l of those sub-blocks is bit 2j, respectively 2j+1, of {@code qh[l]}. Value
 * {@code d * scale * q - dmin * min}, q in 0..31.
 *
 * <p>Scales are decoded once, when the matrix is made, into floats as {@link Q4KMatrix} does (a quarter byte per
 * weight, on the heap); the kernels read nibbles and fifth bits from the mapped file, one 32-element sub-block per
 * loop iteration in 256-bit byte vectors. A larger loop body (a whole 64-element chunk, in 16- or 32-byte vectors)
 * went past C2's inlining budget, which boxes the vectors: ten times slower, measured.
 */
final class Q5KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 176;
    private static final int SCALES_PER_BLOCK = 16;

    /** For super-block k of the whole matrix (rows back to back), its 16 floats start at {@code 16 * k}. */
    private final float[] scales;

    Q5KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_K, data, rows, cols);
        long blocks = (long) rows * (cols / BLOCK);
        this.scales = new float[Math.toIntExact(blocks * SCALES_PER_BLOCK)];
        for (long k = 0; k < blocks; k++) {
            Q4KMatrix.decodeHeader(data, k * BYTES, scales, (int) (k * SCALES_PER_BLOCK));
        }
    }

    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;

    /** Half {@code part} (0: lanes 0-15, 1: lanes 16-31) of 32 byte lanes as floats. */
    private static FloatVector half(ByteVector v, int part) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, part);
    }

    /**
     * The 32 quants of sub-block {@code sb} (0-7) of the super-block at byte {@code o}: the low (sb even) or high
     * (sb odd) nibbles of the chunk's 32 bytes, plus bit sb of the 32 {@code qh} bytes moved to bit 4.
     */
    private static ByteVector quants(MemorySegment s, long o, int sb) {
        ByteVector v = shrBytes(ByteVector.fromMemorySegment(B256, s, o + 48 + 32 * (sb >> 1), LE), 4 * (sb & 1));
        ByteVector h = shrBytes(ByteVector.fromMemorySegment(B256, s, o + 16, LE), sb);
        return v.and((byte) 0x0F).or(shlBytes(h, 4).and((byte) 0x10));
    }

    private static int scaleIndex(long rowOffset) {
        return (int) (rowOffset / BYTES) * SCALES_PER_BLOCK;
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        float[] sc = scales;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int subBlocks = cols >> 5;
        int si = scaleIndex(rowOffset);
        int xi = xOff;
        // One 32-element sub-block per iteration: a whole 64-element chunk per iteration is past C2's budget.
        for (int b = 0; b < subBlocks; b++, xi += 32, si += 2) {
            ByteVector q = quants(s, rowOffset + (long) (b >> 3) * BYTES, b & 7);
            FloatVector d = bc(sc[si]);
            FloatVector m = bc(sc[si + 1]);
            acc0 = half(q, 0).fma(d, m).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = half(q, 1).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 16), acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        float[] sc = scales;
        int subBlocks = cols >> 5;
        int si = scaleIndex(rowOffset);
        for (int b = 0; b < subBlocks; b++, off += 32, si += 2) {
            ByteVector q = quants(s, rowOffset + (long) (b >> 3) * BYTES, b & 7);
            FloatVector d = bc(sc[si]);
            FloatVector m = bc(sc[si + 1]);
            half(q, 0).fma(d, m).intoArray(out, off);
            half(q, 1).fma(d, m).intoArray(out, off + 16);
        }
    }
}
