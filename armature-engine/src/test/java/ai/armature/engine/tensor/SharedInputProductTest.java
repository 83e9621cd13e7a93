package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link WeightMatrix#matmulSharedInput} against each matrix's own {@link WeightMatrix#matmul} (to the bit, where the
 * int8 kernels run) and
 * against {@link Reference}'s scalar dequantization, on the mixes a layer holds: one type for q/k/v, Q4_K with a
 * Q6_K attn_v as Q4_K_M files carry, Q4_0 (whose int8 kernels stop at 4 vectors, so 5 to 8 mix fused and float
 * products), and a float matrix beside an int8 one. Row counts are not multiples of the 32-row groups, and n runs
 * from 1 past every type's fused width, where everything falls back to the tiled float matmul.
 */
class SharedInputProductTest {

    record Shape(GgmlType type, int rows) {
        @Override
        public String toString() {
            return type + "x" + rows;
        }
    }

    static Stream<Arguments> mixes() {
        return Stream.of(
                Arguments.of(512, new Shape[] {new Shape(GgmlType.Q8_0, 77), new Shape(GgmlType.Q8_0, 13), new Shape(GgmlType.Q8_0, 13)}),
                Arguments.of(512, new Shape[] {new Shape(GgmlType.Q4_K, 301), new Shape(GgmlType.Q4_K, 33), new Shape(GgmlType.Q6_K, 33)}),
                Arguments.of(512, new Shape[] {new Shape(GgmlType.Q5_K, 95), new Shape(GgmlType.Q4_K, 95)}),
                Arguments.of(320, new Shape[] {new Shape(GgmlType.Q4_0, 37), new Shape(GgmlType.Q8_0, 5), new Shape(GgmlType.Q4_0, 70)}),
                Arguments.of(256, new Shape[] {new Shape(GgmlType.F32, 19), new Shape(GgmlType.Q8_0, 41), new Shape(GgmlType.F16, 7)}),
                Arguments.of(100, new Shape[] {new Shape(GgmlType.F32, 9), new Shape(GgmlType.BF16, 30)}));
    }

    @ParameterizedTest(name = "{0} columns: {1}")
    @MethodSource("mixes")
    void matchesSeparateProductsAndTheReference(int cols, Shape[] shapes) {
        Random rnd = new Random(cols * 31L + shapes.length * 7L + shapes[0].rows());
        WeightMatrix[] ms = new WeightMatrix[shapes.length];
        float[][][] refRows = new float[shapes.length][][];
        for (int i = 0; i < shapes.length; i++) {
            Shape s = shapes[i];
            byte[] data = Reference.randomMatrix(s.type(), s.rows(), cols, rnd);
            ms[i] = WeightMatrix.of(s.type(), MemorySegment.ofArray(data), s.rows(), cols);
            refRows[i] = new float[s.rows()][];
            for (int r = 0; r < s.rows(); r++) {
                refRows[i][r] = Reference.dequantizeRow(s.type(), data, r, cols);
            }
        }
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17}) {
            // Buffers larger than the batch, as a forward pass's are: what lies beyond n vectors stays untouched.
            float[] x = Reference.randomFloats((n + 1) * cols, rnd);
            float[][] shared = new float[shapes.length][];
            for (int i = 0; i < shapes.length; i++) {
                shared[i] = new float[(n + 1) * shapes[i].rows()];
                Arrays.fill(shared[i], 7f);
            }
            WeightMatrix.matmulSharedInput(x, n, ms, shared);
            for (int i = 0; i < shapes.length; i++) {
                int rows = shapes[i].rows();
                BaseMatrix bm = (BaseMatrix) ms[i];
                if (bm.interleavedRows() > 0 && n <= Math.max(1, bm.fusedVectors())) {
                    // The int8 kernels sum exactly in integers, so the same quantized input gives the same bits. (The
                    // float kernels' lane reductions may be ordered differently before and after JIT compilation, so
                    // there only the reference check below applies.)
                    float[] alone = new float[n * rows];
                    ms[i].matmul(x, alone, n);
                    assertThat(Arrays.copyOf(shared[i], n * rows)).as("n=%d matrix %d (%s) against its own matmul", n, i, shapes[i])
                            .containsExactly(alone);
                }
                for (int k = n * rows; k < shared[i].length; k++) {
                    assertThat(shared[i][k]).as("n=%d matrix %d beyond the batch", n, i).isEqualTo(7f);
                }
                for (int v = 0; v < n; v++) {
                    for (int r = 0; r < rows; r++) {
                        WeightMatrixTest.checkProduct(ms[i], n, refRows[i][r], x, v * cols, shared[i][v * rows + r],
                                "n=" + n + " matrix " + i + " vector " + v + " row " + r);
                    }
                }
            }
        }
    }

    /** q, k and v of a 2048-wide layer: one hand-off to the pool together, one each apart. */
    @Test
    void handsOffOnceForAllFusedMatrices() {
        int cols = 2048;
        Random rnd = new Random(11);
        WeightMatrix[] ms = new WeightMatrix[3];
        float[][] ys = new float[3][];
        int[] rows = {1024, 256, 256};
        GgmlType[] types = {GgmlType.Q4_K, GgmlType.Q4_K, GgmlType.Q6_K};
        for (int i = 0; i < 3; i++) {
            ms[i] = WeightMatrix.of(types[i], MemorySegment.ofArray(Reference.randomMatrix(types[i], rows[i], cols, rnd)), rows[i], cols);
            ys[i] = new float[2 * rows[i]];
        }
        float[] x = Reference.randomFloats(2 * cols, rnd);
        try (Parallel.Pool pool = Parallel.newPool(2, "test-shared")) {
            Parallel.Pool previous = Parallel.bind(pool);
            try {
                for (int n = 1; n <= 2; n++) {
                    long before = pool.handedOffCalls();
                    WeightMatrix.matmulSharedInput(x, n, ms, ys);
                    assertThat(pool.handedOffCalls() - before).as("shared, n=%d", n).isEqualTo(1);
                    before = pool.handedOffCalls();
                    for (int i = 0; i < 3; i++) {
                        ms[i].matmul(x, ys[i], n);
                    }
                    assertThat(pool.handedOffCalls() - before).as("separate, n=%d", n).isEqualTo(3);
                }
            } finally {
                Parallel.bind(previous);
            }
        }
    }

    @Test
    void rejectsMismatchedShapesWithClearMessages() {
        Random rnd = new Random(3);
        WeightMatrix a = WeightMatrix.of(GgmlType.Q8_0, MemorySegment.ofArray(Reference.randomMatrix(GgmlType.Q8_0, 4, 64, rnd)), 4, 64);
        WeightMatrix b = WeightMatrix.of(GgmlType.Q8_0, MemorySegment.ofArray(Reference.randomMatrix(GgmlType.Q8_0, 4, 32, rnd)), 4, 32);
        assertThatThrownBy(() -> WeightMatrix.matmulSharedInput(new float[64], 1, new WeightMatrix[] {a, b}, new float[][] {new float[4], new float[4]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one width");
        assertThatThrownBy(() -> WeightMatrix.matmulSharedInput(new float[64], 1, new WeightMatrix[] {a}, new float[][] {new float[4], new float[4]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one output per matrix");
        float[] untouched = new float[8];
        assertThatThrownBy(() -> WeightMatrix.matmulSharedInput(new float[128], 2, new WeightMatrix[] {a, a}, new float[][] {untouched, new float[7]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("an output of 8 floats, got 128 and 7");
        assertThat(untouched).as("nothing ran before the check").containsOnly(0f);
        assertThatThrownBy(() -> WeightMatrix.matmulSharedInput(new float[100], 2, new WeightMatrix[] {a}, new float[][] {new float[8]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs x of 128");
    }
}
