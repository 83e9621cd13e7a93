package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 weights: blocks of 32 elements, each an f16 scale {@code d} and 16 bytes whose low nibbles are elements
 * 0..15 and high nibbles elements 16..31, value {@code (q - 8) * d}. Nibbles are split and re-centred on 16-byte
 * vectors before widening to floats.
 */
final class Q4_0Matrix extends BaseMatrix {
    private static final int BLOCK = 32;
    private static final int BYTES = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
    }

    private static FloatVector low(ByteVector v) {
        return bytesToFloats(v.and((byte) 0x0F).sub((byte) 8));
    }

    private static FloatVector high(ByteVector v) {
        return bytesToFloats(shrBytes(v, 4).and((byte) 0x0F).sub((byte) 8));
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int blocks = cols / BLOCK;
        int b = 0;
        long o = rowOffset;
        int xi = xOff;
        for (; b + 1 < blocks; b += 2, o += 2 * BYTES, xi += 2 * BLOCK) {
            ByteVector v0 = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            ByteVector v1 = ByteVector.fromMemorySegment(B128, s, o + BYTES + 2, LE);
            FloatVector t0 = high(v0).fma(FloatVector.fromArray(F, x, xi + 16), low(v0).mul(FloatVector.fromArray(F, x, xi)));
            FloatVector t1 = high(v1).fma(FloatVector.fromArray(F, x, xi + 48), low(v1).mul(FloatVector.fromArray(F, x, xi + 32)));
            acc0 = t0.fma(bc(f16(s, o)), acc0);
            acc1 = t1.fma(bc(f16(s, o + BYTES)), acc1);
        }
        if (b < blocks) {
            ByteVector v0 = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            FloatVector t0 = high(v0).fma(FloatVector.fromArray(F, x, xi + 16), low(v0).mul(FloatVector.fromArray(F, x, xi)));
            acc0 = t0.fma(bc(f16(s, o)), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = data;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        for (int b = 0; b < blocks; b++, o += BYTES, off += BLOCK) {
            float d = f16(s, o);
            ByteVector v = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            low(v).mul(d).intoArray(out, off);
            high(v).mul(d).intoArray(out, off + 16);
        }
    }
}
