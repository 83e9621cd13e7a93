package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * F16 (IEEE half) weights, any number of columns. Halves are widened with integer lane operations: shifting the
 * exponent and mantissa into float position and multiplying by 2^112 rebiases normals and subnormals exactly;
 * infinities and NaNs get the all-ones float exponent.
 */
final class F16Matrix extends BaseMatrix {

    F16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
    }

    static FloatVector halfToFloat(ShortVector h) {
        IntVector i = (IntVector) h.convertShape(VectorOperators.S2I, I512, 0);
        IntVector magnitude = i.and(0x7FFF);
        FloatVector f = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        IntVector bits = f.reinterpretAsInts();
        bits = bits.lanewise(VectorOperators.OR, 0x7F800000, magnitude.compare(VectorOperators.GE, 0x7C00));
        return bits.or(i.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private FloatVector load(long offset) {
        return halfToFloat(ShortVector.fromMemorySegment(S256, data, offset, LE));
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int upper2 = cols & ~(2 * L - 1);
        int upper = F.loopBound(cols);
        int k = 0;
        for (; k < upper2; k += 2 * L) {
            acc0 = load(rowOffset + 2L * k).fma(FloatVector.fromArray(F, x, xOff + k), acc0);
            acc1 = load(rowOffset + 2L * (k + L)).fma(FloatVector.fromArray(F, x, xOff + k + L), acc1);
        }
        for (; k < upper; k += L) {
            acc0 = load(rowOffset + 2L * k).fma(FloatVector.fromArray(F, x, xOff + k), acc0);
        }
        float sum = VectorOps.sumLanes(acc0.add(acc1));
        for (; k < cols; k++) {
            sum += f16(data, rowOffset + 2L * k) * x[xOff + k];
        }
        return sum;
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        int upper = F.loopBound(cols);
        int k = 0;
        for (; k < upper; k += L) {
            load(rowOffset + 2L * k).intoArray(out, off + k);
        }
        for (; k < cols; k++) {
            out[off + k] = f16(data, rowOffset + 2L * k);
        }
    }
}
