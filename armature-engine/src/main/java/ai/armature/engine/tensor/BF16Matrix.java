package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** BF16 weights (the top 16 bits of a float), any number of columns. */
final class BF16Matrix extends BaseMatrix {
    private static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;

    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
    }

    private FloatVector load(long offset) {
        IntVector i = (IntVector) ShortVector.fromMemorySegment(S256, data, offset, LE).convertShape(VectorOperators.S2I, I512, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private float scalar(long offset) {
        return Float.intBitsToFloat(data.get(SHORT_LE, offset) << 16);
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
            sum += scalar(rowOffset + 2L * k) * x[xOff + k];
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
            out[off + k] = scalar(rowOffset + 2L * k);
        }
    }
}
