package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;

/** Chooses the kernel implementation for a weight type (filled in by the kernels work). */
final class Kernels {
    private Kernels() {
    }

    static WeightMatrix matrix(GgmlType type, MemorySegment data, int rows, int cols) {
        throw new UnsupportedOperationException("kernels for " + type + " are not implemented yet");
    }
}
