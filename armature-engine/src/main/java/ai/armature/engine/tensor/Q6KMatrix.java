package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

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

    /** 16 quants of one quarter as floats in [-32, 31]: low 4 bits from ql, high 2 bits already masked to 0x30. */
    private static FloatVector quarter(ByteVector ql, ByteVector qhBits) {
        return bytesToFloats(ql.or(qhBits).sub((byte) 32));
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
        FloatVector acc = FloatVector.zero(F);
        for (int h = 0; h < 2; h++) {
            long scales = s.get(LONG_LE, o + 192 + 8 * h);
            for (int c = 0; c < 2; c++) {
                long ql = o + 64 * h + 16 * c;
                ByteVector qlA = ByteVector.fromMemorySegment(B128, s, ql, LE);
                ByteVector qlB = ByteVector.fromMemorySegment(B128, s, ql + 32, LE);
                ByteVector qhv = ByteVector.fromMemorySegment(B128, s, o + 128 + 32 * h + 16 * c, LE);
                int xc = xi + 128 * h + 16 * c;
                FloatVector q1 = quarter(qlA.and((byte) 0x0F), shlBytes(qhv, 4).and((byte) 0x30));
                FloatVector q2 = quarter(qlB.and((byte) 0x0F), shlBytes(qhv, 2).and((byte) 0x30));
                FloatVector q3 = quarter(shrBytes(qlA, 4).and((byte) 0x0F), qhv.and((byte) 0x30));
                FloatVector q4 = quarter(shrBytes(qlB, 4).and((byte) 0x0F), shrBytes(qhv, 2).and((byte) 0x30));
                acc = q1.mul(FloatVector.fromArray(F, x, xc)).fma(bc(d * scale(scales, c)), acc);
                acc = q2.mul(FloatVector.fromArray(F, x, xc + 32)).fma(bc(d * scale(scales, c + 2)), acc);
                acc = q3.mul(FloatVector.fromArray(F, x, xc + 64)).fma(bc(d * scale(scales, c + 4)), acc);
                acc = q4.mul(FloatVector.fromArray(F, x, xc + 96)).fma(bc(d * scale(scales, c + 6)), acc);
            }
        }
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
            for (int c = 0; c < 2; c++) {
                long ql = o + 64 * h + 16 * c;
                ByteVector qlA = ByteVector.fromMemorySegment(B128, s, ql, LE);
                ByteVector qlB = ByteVector.fromMemorySegment(B128, s, ql + 32, LE);
                ByteVector qhv = ByteVector.fromMemorySegment(B128, s, o + 128 + 32 * h + 16 * c, LE);
                int oc = off + 128 * h + 16 * c;
                quarter(qlA.and((byte) 0x0F), shlBytes(qhv, 4).and((byte) 0x30)).mul(d * scale(scales, c)).intoArray(out, oc);
                quarter(qlB.and((byte) 0x0F), shlBytes(qhv, 2).and((byte) 0x30)).mul(d * scale(scales, c + 2)).intoArray(out, oc + 32);
                quarter(shrBytes(qlA, 4).and((byte) 0x0F), qhv.and((byte) 0x30)).mul(d * scale(scales, c + 4)).intoArray(out, oc + 64);
                quarter(shrBytes(qlB, 4).and((byte) 0x0F), shrBytes(qhv, 2).and((byte) 0x30)).mul(d * scale(scales, c + 6)).intoArray(out, oc + 96);
            }
        }
    }
}
