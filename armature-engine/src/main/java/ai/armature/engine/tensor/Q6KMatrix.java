package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K weights: super-blocks of 256 elements (210 bytes): 128 bytes {@code ql} (low 4 bits), 64 bytes {@code qh}
 * (high 2 bits, four elements per byte), 16 signed 8-bit scales (one per 16 elements), f16 {@code d}; value
 * {@code d * scale * (q - 32)}. Each half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; the four
 * 32-element quarters take the low/high nibbles of ql[0..32) and ql[32..64) with qh bits 0-1, 2-3, 4-5, 6-7.
 */
final class Q6KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 210;

    Q6KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
    }

    /** The four 16-element quant groups (elements l, l+32, l+64, l+96 for l in the chunk), as floats in [-32, 31]. */
    private static FloatVector quarter(ByteVector ql, ByteVector qhBits) {
        return bytesToFloats(ql.or(qhBits).sub((byte) 32));
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        FloatVector acc = FloatVector.zero(F);
        int blocks = cols / BLOCK;
        long o = rowOffset;
        int xi = xOff;
        for (int b = 0; b < blocks; b++, o += BYTES, xi += BLOCK) {
            float d = f16(s, o + 208);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64 * h;
                long qh = o + 128 + 32 * h;
                long sc = o + 192 + 8 * h;
                int xh = xi + 128 * h;
                for (int c = 0; c < 2; c++) {
                    ByteVector qlA = ByteVector.fromMemorySegment(B128, s, ql + 16 * c, LE);
                    ByteVector qlB = ByteVector.fromMemorySegment(B128, s, ql + 32 + 16 * c, LE);
                    ByteVector qhv = ByteVector.fromMemorySegment(B128, s, qh + 16 * c, LE);
                    int xc = xh + 16 * c;
                    FloatVector q1 = quarter(qlA.and((byte) 0x0F), shlBytes(qhv, 4).and((byte) 0x30));
                    FloatVector q2 = quarter(qlB.and((byte) 0x0F), shlBytes(qhv, 2).and((byte) 0x30));
                    FloatVector q3 = quarter(shrBytes(qlA, 4).and((byte) 0x0F), qhv.and((byte) 0x30));
                    FloatVector q4 = quarter(shrBytes(qlB, 4).and((byte) 0x0F), shrBytes(qhv, 2).and((byte) 0x30));
                    acc = q1.mul(FloatVector.fromArray(F, x, xc)).fma(bc(d * s.get(ValueLayout.JAVA_BYTE, sc + c)), acc);
                    acc = q2.mul(FloatVector.fromArray(F, x, xc + 32)).fma(bc(d * s.get(ValueLayout.JAVA_BYTE, sc + c + 2)), acc);
                    acc = q3.mul(FloatVector.fromArray(F, x, xc + 64)).fma(bc(d * s.get(ValueLayout.JAVA_BYTE, sc + c + 4)), acc);
                    acc = q4.mul(FloatVector.fromArray(F, x, xc + 96)).fma(bc(d * s.get(ValueLayout.JAVA_BYTE, sc + c + 6)), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        for (int b = 0; b < blocks; b++, o += BYTES, off += BLOCK) {
            float d = f16(s, o + 208);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64 * h;
                long qh = o + 128 + 32 * h;
                long sc = o + 192 + 8 * h;
                int oh = off + 128 * h;
                for (int c = 0; c < 2; c++) {
                    ByteVector qlA = ByteVector.fromMemorySegment(B128, s, ql + 16 * c, LE);
                    ByteVector qlB = ByteVector.fromMemorySegment(B128, s, ql + 32 + 16 * c, LE);
                    ByteVector qhv = ByteVector.fromMemorySegment(B128, s, qh + 16 * c, LE);
                    int oc = oh + 16 * c;
                    quarter(qlA.and((byte) 0x0F), shlBytes(qhv, 4).and((byte) 0x30))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, sc + c)).intoArray(out, oc);
                    quarter(qlB.and((byte) 0x0F), shlBytes(qhv, 2).and((byte) 0x30))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, sc + c + 2)).intoArray(out, oc + 32);
                    quarter(shrBytes(qlA, 4).and((byte) 0x0F), qhv.and((byte) 0x30))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, sc + c + 4)).intoArray(out, oc + 64);
                    quarter(shrBytes(qlB, 4).and((byte) 0x0F), shrBytes(qhv, 2).and((byte) 0x30))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, sc + c + 6)).intoArray(out, oc + 96);
                }
            }
        }
    }
}
