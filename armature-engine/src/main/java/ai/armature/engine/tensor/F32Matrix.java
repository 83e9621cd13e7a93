package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** F32 weights: little-endian floats, any number of columns. */
final class F32Matrix extends BaseMatrix {

    F32Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F32, data, rows, cols);
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = data;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int upper2 = cols & ~(2 * L - 1);
        int upper = F.loopBound(cols);
        int k = 0;
        for (; k < upper2; k += 2 * L) {
            acc0 = FloatVector.fromMemorySegment(F, s, rowOffset + 4L * k, LE).fma(FloatVector.fromArray(F, x, xOff + k), acc0);
            acc1 = FloatVector.fromMemorySegment(F, s, rowOffset + 4L * (k + L), LE).fma(FloatVector.fromArray(F, x, xOff + k + L), acc1);
        }
        for (; k < upper; k += L) {
            acc0 = FloatVector.fromMemorySegment(F, s, rowOffset + 4L * k, LE).fma(FloatVector.fromArray(F, x, xOff + k), acc0);
        }
        float sum = VectorOps.sumLanes(acc0.add(acc1));
        for (; k < cols; k++) {
            sum += s.get(FLOAT_LE, rowOffset + 4L * k) * x[xOff + k];
        }
        return sum;
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment.copy(data, FLOAT_LE, rowOffset, out, off, cols);
    }
}
