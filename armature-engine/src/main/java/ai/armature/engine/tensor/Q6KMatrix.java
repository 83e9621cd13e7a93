package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q6_K weights: super-blocks of 256 elements (210 bytes): 128 bytes {@code ql} (low 4 bits), 64 bytes {@code qh}
 * (high 2 bits, four elements per byte), 16 signed 8-bit scales (one per 16 elements), f16 {@code d}; value
 * {@code d * scale * (q - 32)}. Each half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; the four
 * 32-element quarters take the low/high nibbles of ql[0..32) and ql[32..64) with qh bits 0-1, 2-3, 4-5, 6-7.
 *
 * <p>As in {@link Q4KMatrix}, each super-block is its own small method returning a float, so C2's inlining budget
 * is not exhausted by memory-segment accessors (which would make the vector intrinsics fail).
 */
final class Q6KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 210;

    Q6KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
    }

    private static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;

    /** 16 bytes widened to int lanes (sign-extended; callers mask the bits they use). */
    private static IntVector widen(MemorySegment s, long offset) {
        return (IntVector) ByteVector.fromMemorySegment(B128, s, offset, LE).convertShape(VectorOperators.B2I, I512, 0);
    }

    /**
     * 16 quants as floats in [-32, 31]: low 4 bits from {@code ql}, high 2 bits already masked into 0x30. Bit
     * work happens on int lanes: byte-lane shifts go through reinterpretations whose node count makes C2 give up
     * inlining the vector intrinsics in this kernel.
     */
    private static FloatVector quarter(IntVector ql, IntVector qhBits) {
        return (FloatVector) ql.or(qhBits).sub(32).convertShape(VectorOperators.I2F, F, 0);
    }

    /** Signed scale byte i (0..7) of the 8 scales packed in {@code scales}. */
    private static int scale(long scales, int i) {
        return (byte) (scales >>> (8 * i));
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        float sum = 0;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            sum += blockDot(data, rowOffset + (long) b * BYTES, x, xOff + b * BLOCK);
        }
        return sum;
    }

    private static float blockDot(MemorySegment s, long o, float[] x, int xi) {
        float d = f16(s, o + 208);
        float sum = 0;
        for (int h = 0; h < 2; h++) {
            long scales = s.get(LONG_LE, o + 192 + 8 * h);
            for (int k = 0; k < 4; k++) {
                sum += pairDot(s, o, h, k & 1, k >> 1, scales, d, x, xi);
            }
        }
        return sum;
    }

    /**
     * Two of the four quarters of chunk {@code c} (16 lanes) of half {@code h}: pair 0 is elements l and l+32 (low
     * nibbles, qh bits 0-3), pair 1 is l+64 and l+96 (high nibbles, qh bits 4-7). Kept this small on purpose: the
     * Vector API expands into many compiler nodes, and with a whole chunk or super-block in one method C2 hits its
     * node limit, stops inlining the vector intrinsics and boxes every vector (two orders of magnitude slower).
     */
    private static float pairDot(MemorySegment s, long o, int h, int c, int pair, long scales, float d, float[] x, int xi) {
        long ql = o + 64 * h + 16 * c;
        int shift = 4 * pair;
        IntVector a = widen(s, ql).lanewise(VectorOperators.ASHR, shift).and(0x0F);
        IntVector b = widen(s, ql + 32).lanewise(VectorOperators.ASHR, shift).and(0x0F);
        IntVector hv = widen(s, o + 128 + 32 * h + 16 * c).lanewise(VectorOperators.ASHR, shift);
        int xq = xi + 128 * h + 16 * c + 64 * pair;
        FloatVector first = quarter(a, hv.lanewise(VectorOperators.LSHL, 4).and(0x30));
        FloatVector second = quarter(b, hv.lanewise(VectorOperators.LSHL, 2).and(0x30));
        FloatVector acc = first.mul(FloatVector.fromArray(F, x, xq)).mul(d * scale(scales, c + 4 * pair));
        acc = second.mul(FloatVector.fromArray(F, x, xq + 32)).fma(bc(d * scale(scales, c + 4 * pair + 2)), acc);
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            blockDequantize(data, rowOffset + (long) b * BYTES, out, off + b * BLOCK);
        }
    }

    private static void blockDequantize(MemorySegment s, long o, float[] out, int off) {
        float d = f16(s, o + 208);
        for (int h = 0; h < 2; h++) {
            long scales = s.get(LONG_LE, o + 192 + 8 * h);
            for (int k = 0; k < 4; k++) {
                pairDequantize(s, o, h, k & 1, k >> 1, scales, d, out, off);
            }
        }
    }

    /** Dequantizes the quarters {@link #pairDot} multiplies (kept small for the same reason). */
    private static void pairDequantize(MemorySegment s, long o, int h, int c, int pair, long scales, float d, float[] out, int off) {
        long ql = o + 64 * h + 16 * c;
        int shift = 4 * pair;
        IntVector a = widen(s, ql).lanewise(VectorOperators.ASHR, shift).and(0x0F);
        IntVector b = widen(s, ql + 32).lanewise(VectorOperators.ASHR, shift).and(0x0F);
        IntVector hv = widen(s, o + 128 + 32 * h + 16 * c).lanewise(VectorOperators.ASHR, shift);
        int oq = off + 128 * h + 16 * c + 64 * pair;
        quarter(a, hv.lanewise(VectorOperators.LSHL, 4).and(0x30)).mul(d * scale(scales, c + 4 * pair)).intoArray(out, oq);
        quarter(b, hv.lanewise(VectorOperators.LSHL, 2).and(0x30)).mul(d * scale(scales, c + 4 * pair + 2)).intoArray(out, oq + 32);
    }
}
