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
    int fusedVectors() {
        return 4;
    }

    /** As Q8_0's: two chains per vector, each nibble half widened and scaled once for all the vectors. */
    @Override
    void dots(long rowOffset, float[] x, int xOff, int count, float[] out) {
        MemorySegment s = data;
        int c = cols;
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int blocks = c / BLOCK;
        long o = rowOffset;
        int xi = xOff;
        for (int b = 0; b < blocks; b++, o += BYTES, xi += BLOCK) {
            FloatVector d = bc(f16(s, o));
            ByteVector v = ByteVector.fromMemorySegment(B128, s, o + 2, LE);
            FloatVector q0 = low(v).mul(d);
            FloatVector q1 = high(v).mul(d);
            a0 = q0.fma(FloatVector.fromArray(F, x, xi), a0);
            b0 = q1.fma(FloatVector.fromArray(F, x, xi + 16), b0);
            a1 = q0.fma(FloatVector.fromArray(F, x, xi + c), a1);
            b1 = q1.fma(FloatVector.fromArray(F, x, xi + c + 16), b1);
            if (count > 2) {
                a2 = q0.fma(FloatVector.fromArray(F, x, xi + 2 * c), a2);
                b2 = q1.fma(FloatVector.fromArray(F, x, xi + 2 * c + 16), b2);
            }
            if (count > 3) {
                a3 = q0.fma(FloatVector.fromArray(F, x, xi + 3 * c), a3);
                b3 = q1.fma(FloatVector.fromArray(F, x, xi + 3 * c + 16), b3);
            }
        }
        out[0] = a0.add(b0).reduceLanes(VectorOperators.ADD);
        out[1] = a1.add(b1).reduceLanes(VectorOperators.ADD);
        if (count > 2) out[2] = a2.add(b2).reduceLanes(VectorOperators.ADD);
        if (count > 3) out[3] = a3.add(b3).reduceLanes(VectorOperators.ADD);
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
