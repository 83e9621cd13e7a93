package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;

/** Chooses the kernel implementation for a weight type. */
final class Kernels {
    private Kernels() {
    }

    static WeightMatrix matrix(GgmlType type, MemorySegment data, int rows, int cols) {
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_K -> new Q4KMatrix(data, rows, cols);
            case Q5_K -> new Q5KMatrix(data, rows, cols);
            case Q6_K -> new Q6KMatrix(data, rows, cols);
            default -> throw new UnsupportedOperationException("Armature cannot compute with " + type
                    + " weights; supported types are F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K (re-quantize the model to one of them)");
        };
    }
}
