package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K weights: super-blocks of 256 elements (144 bytes): f16 {@code d}, f16 {@code dmin}, 12 bytes packing eight
 * 6-bit scales and eight 6-bit mins, then 128 bytes of nibbles. Each 64-element chunk j uses 32 bytes: low nibbles
 * are sub-block 2j, high nibbles sub-block 2j+1; element value {@code d * scale * q - dmin * min}.
 */
final class Q4KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 144;

    Q4KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /** Sub-block j's 6-bit scale (low 8 bits of the result) and min (bits 8..15), as ggml packs them. */
    private static int scaleMin(MemorySegment s, long scales, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = u8(s, scales + j) & 63;
            m = u8(s, scales + j + 4) & 63;
        } else {
            int q4 = u8(s, scales + j + 4);
            sc = (q4 & 0x0F) | ((u8(s, scales + j - 4) >> 6) << 4);
            m = (q4 >> 4) | ((u8(s, scales + j) >> 6) << 4);
        }
        return sc | (m << 8);
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        FloatVector acc = FloatVector.zero(F);
        FloatVector accMin = acc;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        int xi = xOff;
        for (int b = 0; b < blocks; b++, o += BYTES, xi += BLOCK) {
            float d = f16(s, o);
            float dmin = f16(s, o + 2);
            long scales = o + 4;
            long qs = o + 16;
            for (int j = 0; j < 4; j++) {
                int sm0 = scaleMin(s, scales, 2 * j);
                int sm1 = scaleMin(s, scales, 2 * j + 1);
                ByteVector va = ByteVector.fromMemorySegment(B128, s, qs + 32 * j, LE);
                ByteVector vb = ByteVector.fromMemorySegment(B128, s, qs + 32 * j + 16, LE);
                int xj = xi + 64 * j;
                FloatVector x0 = FloatVector.fromArray(F, x, xj);
                FloatVector x1 = FloatVector.fromArray(F, x, xj + 16);
                FloatVector x2 = FloatVector.fromArray(F, x, xj + 32);
                FloatVector x3 = FloatVector.fromArray(F, x, xj + 48);
                FloatVector lo = bytesToFloats(vb.and((byte) 0x0F)).fma(x1, bytesToFloats(va.and((byte) 0x0F)).mul(x0));
                FloatVector hi = bytesToFloats(shrBytes(vb, 4).and((byte) 0x0F))
                        .fma(x3, bytesToFloats(shrBytes(va, 4).and((byte) 0x0F)).mul(x2));
                acc = lo.fma(bc(d * (sm0 & 0xFF)), acc);
                acc = hi.fma(bc(d * (sm1 & 0xFF)), acc);
                accMin = x0.add(x1).fma(bc(dmin * (sm0 >>> 8)), accMin);
                accMin = x2.add(x3).fma(bc(dmin * (sm1 >>> 8)), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        for (int b = 0; b < blocks; b++, o += BYTES, off += BLOCK) {
            float d = f16(s, o);
            float dmin = f16(s, o + 2);
            long scales = o + 4;
            long qs = o + 16;
            for (int j = 0; j < 4; j++) {
                int sm0 = scaleMin(s, scales, 2 * j);
                int sm1 = scaleMin(s, scales, 2 * j + 1);
                FloatVector d0 = FloatVector.broadcast(F, d * (sm0 & 0xFF));
                FloatVector m0 = FloatVector.broadcast(F, -dmin * (sm0 >>> 8));
                FloatVector d1 = FloatVector.broadcast(F, d * (sm1 & 0xFF));
                FloatVector m1 = FloatVector.broadcast(F, -dmin * (sm1 >>> 8));
                ByteVector va = ByteVector.fromMemorySegment(B128, s, qs + 32 * j, LE);
                ByteVector vb = ByteVector.fromMemorySegment(B128, s, qs + 32 * j + 16, LE);
                int oj = off + 64 * j;
                bytesToFloats(va.and((byte) 0x0F)).fma(d0, m0).intoArray(out, oj);
                bytesToFloats(vb.and((byte) 0x0F)).fma(d0, m0).intoArray(out, oj + 16);
                bytesToFloats(shrBytes(va, 4).and((byte) 0x0F)).fma(d1, m1).intoArray(out, oj + 32);
                bytesToFloats(shrBytes(vb, 4).and((byte) 0x0F)).fma(d1, m1).intoArray(out, oj + 48);
            }
        }
    }
}
