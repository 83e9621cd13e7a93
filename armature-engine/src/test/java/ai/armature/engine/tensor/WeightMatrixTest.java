package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel against {@link Reference}'s scalar dequantization on random data. Shapes are chosen to hit the
 * edges: row counts that are not multiples of the matmul tile (4) or the thread count, matrices large enough to be
 * split over the pool, odd column counts for the float types, and 1 to 17 vectors in matmul (tile of 4 plus
 * remainders; up to their fused width the interleaved types take their int8 kernels, in pairs and an odd one).
 *
 * <p>Tolerance: the kernels dequantize exactly as the reference (up to one rounding where Q4_K and Q5_K fuse
 * {@code d*sc*q - dmin*m} into an FMA) and accumulate in float in a different order than the double reference. A
 * float sum of k terms in any order is within about {@code k * 2^-24 * sum|w x|} of the exact value; the kernels
 * keep 16 lanes (and 2 accumulators), so each lane adds at most cols/16 terms and the final reduction adds 16-32
 * more. With cols <= 1024 that is at most ~100 sequential additions, i.e. 6e-6 relative to {@code sum|w x|};
 * we allow 2e-5 (plus 1e-6 absolute for rows whose products nearly cancel).
 */
class WeightMatrixTest {
    private static final double REL = 2e-5;

    static Stream<Arguments> shapes() {
        List<Arguments> list = new ArrayList<>();
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            list.add(Arguments.of(t, 1, 1));
            list.add(Arguments.of(t, 5, 15));
            list.add(Arguments.of(t, 13, 17));
            list.add(Arguments.of(t, 37, 100));
            list.add(Arguments.of(t, 301, 259)); // split over the pool, vector body + scalar tail
        }
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            list.add(Arguments.of(t, 1, 32));
            list.add(Arguments.of(t, 7, 96)); // odd block count: the unrolled loop's remainder block
            list.add(Arguments.of(t, 37, 320));
            list.add(Arguments.of(t, 517, 256)); // split over the pool
        }
        // Copies of 2 MiB and more lie on huge pages (LargePages' mapped path): Q8_0's and Q4_0's interleaved ones.
        list.add(Arguments.of(GgmlType.Q8_0, 1031, 2048));
        list.add(Arguments.of(GgmlType.Q4_0, 1901, 2048));
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            list.add(Arguments.of(t, 1, 256));
            list.add(Arguments.of(t, 11, 512));
            list.add(Arguments.of(t, 299, 768)); // split over the pool
        }
        list.add(Arguments.of(GgmlType.Q4_K, 1701, 2048)); // interleaved copies over 2 MiB, as above
        list.add(Arguments.of(GgmlType.Q5_K, 1313, 2048));
        list.add(Arguments.of(GgmlType.Q6_K, 951, 2048));
        return list.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void dequantizeRowMatchesReference(GgmlType type, int rows, int cols) {
        Random rnd = new Random(type.ordinal() * 1000L + rows * 31L + cols);
        byte[] data = Reference.randomMatrix(type, rows, cols, rnd);
        WeightMatrix m = WeightMatrix.of(type, MemorySegment.ofArray(data), rows, cols);
        float[] out = new float[cols + 3];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, out, 3);
            float[] ref = Reference.dequantizeRow(type, data, r, cols);
            for (int k = 0; k < cols; k++) {
                // Exact except Q4_K and Q5_K, where the kernels fuse the scale-and-subtract into one FMA (one rounding fewer):
                // a difference of at most one ulp of the larger term, d * scale * q <= 63 * 15 * d.
                float tol = type == GgmlType.Q4_K || type == GgmlType.Q5_K ? Math.ulp(Math.abs(ref[k]) + 1e-3f) * 2 : 0f;
                if (!(Math.abs(out[3 + k] - ref[k]) <= tol)) { // plain check: AssertJ per element is slow
                    fail("row %d col %d: got %s, expected %s", r, k, out[3 + k], ref[k]);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void matvecMatchesReference(GgmlType type, int rows, int cols) {
        Random rnd = new Random(type.ordinal() * 7919L + rows * 17L + cols);
        byte[] data = Reference.randomMatrix(type, rows, cols, rnd);
        // Off-heap like a mapped file (the heap-array path is covered by the other tests).
        try (Arena arena = Arena.ofShared()) { // the pool's threads read it: a confined arena would refuse them
            MemorySegment seg = arena.allocate(data.length, 64);
            seg.copyFrom(MemorySegment.ofArray(data));
            WeightMatrix m = WeightMatrix.of(type, seg, rows, cols);
            float[] x = Reference.randomFloats(cols + 5, rnd);
            float[] y = new float[rows + 2];
            y[0] = 42f;
            y[rows + 1] = 43f;
            m.matvec(x, 3, y, 1);
            for (int r = 0; r < rows; r++) {
                float[] w = Reference.dequantizeRow(type, data, r, cols);
                checkProduct(m, 1, w, x, 3, y[1 + r], "row " + r);
            }
            assertThat(y[0]).as("untouched before yOffset").isEqualTo(42f);
            assertThat(y[rows + 1]).as("untouched after the rows").isEqualTo(43f);
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void matmulMatchesReference(GgmlType type, int rows, int cols) {
        Random rnd = new Random(type.ordinal() * 104729L + rows * 13L + cols);
        byte[] data = Reference.randomMatrix(type, rows, cols, rnd);
        WeightMatrix m = WeightMatrix.of(type, MemorySegment.ofArray(data), rows, cols);
        float[][] refRows = new float[rows][];
        for (int r = 0; r < rows; r++) {
            refRows[r] = Reference.dequantizeRow(type, data, r, cols);
        }
        for (int n : new int[] {1, 2, 3, 4, 7, 8, 9, 16, 17}) { // up to the fused width (4 for Q4_0, 8 for Q8_0, 16 for the K-quants) the int8 kernels
            float[] x = Reference.randomFloats(n * cols, rnd);
            float[] y = new float[n * rows];
            m.matmul(x, y, n);
            for (int v = 0; v < n; v++) {
                for (int r = 0; r < rows; r++) {
                    checkProduct(m, n, refRows[r], x, v * cols, y[v * rows + r], "n=" + n + " vector " + v + " row " + r);
                }
            }
        }
    }

    static Stream<Arguments> packedShapes() {
        List<Arguments> list = new ArrayList<>();
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            list.add(Arguments.of(t, 5, 1)); // one partial panel, no whole 16-column block to transpose
            list.add(Arguments.of(t, 32, 17)); // one whole panel, a 16-column block and one column left
            list.add(Arguments.of(t, 77, 259)); // two whole panels and 13 rows, 3 columns past the blocks
        }
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            list.add(Arguments.of(t, 45, 96));
            list.add(Arguments.of(t, 301, 64)); // ten panels: split over the pool
        }
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            list.add(Arguments.of(t, 45, 256));
            list.add(Arguments.of(t, 96, 512));
        }
        return list.stream();
    }

    /**
     * Prompt-sized batches take the packed outer-product kernels: rows in panels of 32 (a partial last one), vectors 12
     * at a time then 8, 4 and single ones ({@code 64 = 5 * 12 + 4}, {@code 72 = 6 * 12}, {@code 79 = 72 + 4 + 3},
     * {@code 80 = 72 + 8}, {@code 93 = 84 + 8 + 1}). Each output is one float sum over the row in order, so the bound
     * is {@code cols} roundings: {@code cols * 2^-24 * sum|w x|} (above the 2e-5 the other kernels get when cols > 335).
     * Nothing past the n outputs is written.
     */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("packedShapes")
    void packedMatmulMatchesReference(GgmlType type, int rows, int cols) {
        Random rnd = new Random(type.ordinal() * 7L + rows * 131L + cols);
        byte[] data = Reference.randomMatrix(type, rows, cols, rnd);
        WeightMatrix m = WeightMatrix.of(type, MemorySegment.ofArray(data), rows, cols);
        float[][] refRows = new float[rows][];
        for (int r = 0; r < rows; r++) {
            refRows[r] = Reference.dequantizeRow(type, data, r, cols);
        }
        double rel = Math.max(REL, 1.01 * cols * 0x1p-24);
        for (int n : new int[] {BaseMatrix.PACKED_MIN, 72, 79, 80, 93}) {
            float[] x = Reference.randomFloats(n * cols, rnd);
            float[] y = new float[n * rows + 1];
            y[n * rows] = 42f;
            m.matmul(x, y, n);
            for (int v = 0; v < n; v++) {
                for (int r = 0; r < rows; r++) {
                    double expected = Reference.dot(refRows[r], x, v * cols);
                    double tol = rel * Reference.absDot(refRows[r], x, v * cols) + 1e-6;
                    float got = y[v * rows + r];
                    if (!(Math.abs(got - expected) <= tol)) {
                        fail("n=%d vector %d row %d: got %s, expected %s +- %s", n, v, r, got, expected, tol);
                    }
                }
            }
            assertThat(y[n * rows]).as("untouched after the outputs").isEqualTo(42f);
        }
    }

    /**
     * Up to their fused width, the int8 kernels give each vector the same result, to the bit, whatever else is in the
     * batch (pairs and a single vector run the same arithmetic per vector): a decode step's logits do not depend on
     * how many sequences share it, as long as the batch stays within that width.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void int8ProductsDoNotDependOnTheBatch(GgmlType type) {
        int rows = 45;
        int cols = 512;
        Random rnd = new Random(type.ordinal() + 5L);
        byte[] data = Reference.randomMatrix(type, rows, cols, rnd);
        BaseMatrix m = (BaseMatrix) WeightMatrix.of(type, MemorySegment.ofArray(data), rows, cols);
        int width = m.fusedVectors();
        assertThat(width).isGreaterThanOrEqualTo(4);
        float[] x = Reference.randomFloats(width * cols, rnd);
        float[][] alone = new float[width][rows];
        for (int v = 0; v < width; v++) {
            m.matvec(x, v * cols, alone[v], 0);
        }
        for (int n = 2; n <= width; n++) {
            float[] y = new float[n * rows];
            m.matmul(x, y, n);
            for (int v = 0; v < n; v++) {
                assertThat(Arrays.copyOfRange(y, v * rows, (v + 1) * rows)).as("n=%d vector %d", n, v).containsExactly(alone[v]);
            }
        }
    }

    /**
     * Checks one product of a row {@code w} (dequantized by the reference) with the vector at {@code x[xOff]}. Float
     * kernels: against the exact dot within the float rounding bound. Interleaved kernels (decode batches of up to
     * their fused width): the activation is quantized to int8 blocks first, as ggml's integer kernels do, so the
     * result must match the exact dot with the reference's quantized activation within the same rounding bound, and
     * differ from the float product by no more than the quantization allows (half a step of each block's scale times
     * the block's weights).
     */
    static void checkProduct(WeightMatrix m, int n, float[] w, float[] x, int xOff, float got, String what) {
        BaseMatrix bm = (BaseMatrix) m;
        boolean int8 = bm.interleavedRows() > 0 && n <= Math.max(1, bm.fusedVectors());
        if (!int8) {
            double expected = Reference.dot(w, x, xOff);
            double tol = REL * Reference.absDot(w, x, xOff) + 1e-6;
            if (!(Math.abs(got - expected) <= tol)) {
                fail("%s: got %s, expected %s +- %s", what, got, expected, tol);
            }
            return;
        }
        double[] xq = Reference.int8RoundTrip(x, xOff, w.length);
        double expected = Reference.dot(w, xq);
        double tol = REL * Reference.absDot(w, xq) + 1e-6;
        if (!(Math.abs(got - expected) <= tol)) {
            fail("%s (int8 activations): got %s, expected %s +- %s", what, got, expected, tol);
        }
        double bound = tol;
        for (int b = 0; b < w.length / 32; b++) {
            float amax = 0;
            double wsum = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[xOff + 32 * b + j]));
                wsum += Math.abs(w[32 * b + j]);
            }
            bound += (amax / 127.0) * 0.5001 * wsum;
        }
        double exact = Reference.dot(w, x, xOff);
        if (!(Math.abs(got - exact) <= bound)) {
            fail("%s: int8 result %s is further from the float product %s than quantization allows (%s)", what, got, exact, bound);
        }
    }

    /**
     * The interleaved Q6_K kernels sum {@code q * qx} (q up to 63) over 8 elements in 16-bit lanes, which wraps at the
     * extremes and is exact only after the {@code 32 * sum(qx)} correction, and {@code (q - 32) * qx} over 8 elements,
     * which reaches 32512 of the 32767 a lane holds. Rows with every quant at 0 or at 63 (and rows mixing both in
     * alternate elements), the largest scales of both signs, times activations that all quantize to +127 or -127 (and
     * alternate), through the one-vector and the fused kernels, must still match the reference: random data never
     * reaches these sums.
     */
    @Test
    void q6kExtremeQuantsAndActivationsDoNotOverflow() {
        int rows = 35;
        int cols = 512;
        byte[] data = new byte[rows * (cols / 256) * 210];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols / 256; k++) {
                int o = (r * (cols / 256) + k) * 210;
                // r % 3: 0 -> every q = 0 (value -32); 1 -> every q = 63 (31); 2 -> q = 63 in even elements, 0 in odd
                // (ql nibbles and qh bit pairs of element l + 32 * quarter share bytes, so the pattern is per byte).
                byte lo = (byte) (r % 3 == 0 ? 0x00 : 0xFF);
                java.util.Arrays.fill(data, o, o + 128, lo);
                java.util.Arrays.fill(data, o + 128, o + 192, lo);
                if (r % 3 == 2) {
                    for (int e = 0; e < 256; e += 2) {
                        setQ6(data, o, e + 1, 0);
                    }
                }
                java.util.Arrays.fill(data, o + 192, o + 208, (byte) (r % 2 == 0 ? 127 : -128));
                short d = Float.floatToFloat16(r % 5 == 0 ? -0.01f : 0.01f);
                data[o + 208] = (byte) d;
                data[o + 209] = (byte) (d >> 8);
            }
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.Q6_K, MemorySegment.ofArray(data), rows, cols);
        float[][] ref = new float[rows][];
        for (int r = 0; r < rows; r++) {
            ref[r] = Reference.dequantizeRow(GgmlType.Q6_K, data, r, cols);
            if (r % 3 == 2) {
                assertThat(ref[r][0] / ref[r][1]).as("row %d: q = 63 then q = 0", r).isCloseTo(-31f / 32, org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
        checkExtremeActivations(m, ref);
    }

    /**
     * The interleaved Q4_K and Q5_K kernels sum {@code q * qx} (q up to 15) in 16-bit lanes, which wraps and is exact
     * only after the {@code 8 * sum(qx)} correction, with {@code |sum (q - 8) * qx|} up to 32512 per 32 elements; Q5_K
     * adds the activations under its fifth bits in a second 16-bit sum. Rows with every quant at 0 or at its maximum
     * (or alternating), the largest scales and mins, times activations that all quantize to +127 or -127 (or
     * alternate), through the one-vector and the fused kernels, must match the reference.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K"})
    void kQuantExtremeQuantsAndActivationsDoNotOverflow(GgmlType type) {
        int rows = 35;
        int cols = 512;
        int bytes = type == GgmlType.Q4_K ? 144 : 176;
        byte[] data = new byte[rows * (cols / 256) * bytes];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols / 256; k++) {
                int o = (r * (cols / 256) + k) * bytes;
                short d = Float.floatToFloat16(r % 5 == 0 ? -0.01f : 0.01f);
                short dmin = Float.floatToFloat16(r % 4 == 0 ? 0f : 0.005f);
                data[o] = (byte) d;
                data[o + 1] = (byte) (d >> 8);
                data[o + 2] = (byte) dmin;
                data[o + 3] = (byte) (dmin >> 8);
                java.util.Arrays.fill(data, o + 4, o + 16, (byte) 0xFF); // every 6-bit scale and min at 63
                for (int b = o + 16; b < o + bytes; b++) { // Q5_K: fifth bits, then nibbles; Q4_K: nibbles
                    data[b] = (byte) switch (r % 3) {
                        case 0 -> 0x00;
                        case 1 -> 0xFF;
                        default -> (b - o) % 2 == 0 ? 0xFF : 0x00;
                    };
                }
            }
        }
        WeightMatrix m = WeightMatrix.of(type, MemorySegment.ofArray(data), rows, cols);
        float[][] ref = new float[rows][];
        for (int r = 0; r < rows; r++) {
            ref[r] = Reference.dequantizeRow(type, data, r, cols);
        }
        checkExtremeActivations(m, ref);
    }

    /**
     * The interleaved Q8_0 kernels add two products {@code q * qx} in a 16-bit lane before widening, which reaches
     * 2 * 128 * 127 = 32512 of the 32767 it holds, then bias it by 2^15 to widen it with one shift. Rows with
     * every quant at -128 or at 127, alternating both ways, and mixing -128 and 127 within a pair, with scales of both
     * signs, times activations that all quantize to +127 or -127 (and alternate), through the one-vector and the
     * fused kernels, must match the reference.
     */
    @Test
    void q8ExtremeQuantsAndActivationsDoNotOverflow() {
        int rows = 37;
        int cols = 256;
        byte[] data = new byte[rows * (cols / 32) * 34];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / 32; b++) {
                int o = (r * (cols / 32) + b) * 34;
                short d = Float.floatToFloat16(r % 5 == 0 ? -0.01f : 0.01f);
                data[o] = (byte) d;
                data[o + 1] = (byte) (d >> 8);
                for (int k = 0; k < 32; k++) {
                    data[o + 2 + k] = (byte) switch (r % 4) {
                        case 0 -> -128;
                        case 1 -> 127;
                        case 2 -> k % 2 == 0 ? -128 : 127;
                        default -> k % 4 < 2 ? 127 : -128;
                    };
                }
            }
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.Q8_0, MemorySegment.ofArray(data), rows, cols);
        float[][] ref = new float[rows][];
        for (int r = 0; r < rows; r++) {
            ref[r] = Reference.dequantizeRow(GgmlType.Q8_0, data, r, cols);
        }
        checkExtremeActivations(m, ref);
    }

    /**
     * The products of {@code m} (rows {@code ref}, dequantized by the reference) with 1 to 4 of the vectors all +1,
     * all -1, and alternating both ways (every block quantizes to +-127), through the one-vector and fused kernels.
     */
    private static void checkExtremeActivations(WeightMatrix m, float[][] ref) {
        int rows = m.rows();
        int cols = m.cols();
        float[] x = new float[4 * cols];
        for (int i = 0; i < cols; i++) {
            x[i] = 1f;
            x[cols + i] = -1f;
            x[2 * cols + i] = i % 2 == 0 ? 1f : -1f;
            x[3 * cols + i] = i % 2 == 0 ? -1f : 1f;
        }
        for (int n = 1; n <= 4; n++) {
            float[] y = new float[n * rows];
            m.matmul(x, y, n);
            for (int v = 0; v < n; v++) {
                for (int r = 0; r < rows; r++) {
                    checkProduct(m, n, ref[r], x, v * cols, y[v * rows + r], "n=" + n + " vector " + v + " row " + r);
                }
            }
        }
    }

    /** Sets the 6-bit quant of element {@code e} of the Q6_K super-block at {@code o}, as ggml lays it out. */
    private static void setQ6(byte[] data, int o, int e, int q) {
        int h = e >> 7;
        int quarter = (e & 127) >> 5;
        int l = e & 31;
        int ql = o + 64 * h + 32 * (quarter & 1) + l;
        int shift = quarter < 2 ? 0 : 4;
        data[ql] = (byte) ((data[ql] & ~(0x0F << shift)) | (q & 15) << shift);
        int qh = o + 128 + 32 * h + l;
        data[qh] = (byte) ((data[qh] & ~(3 << 2 * quarter)) | (q >> 4) << 2 * quarter);
    }

    /** Wide rows make the matmul take the vectors in L2-sized blocks (16 vectors at 8192 columns): 17 = 16 + 1. */
    @Test
    void matmulOverWideRowsUsesVectorBlocks() {
        int rows = 9;
        int cols = 8192;
        int n = 17;
        Random rnd = new Random(99);
        byte[] data = Reference.randomMatrix(GgmlType.Q8_0, rows, cols, rnd);
        WeightMatrix m = WeightMatrix.of(GgmlType.Q8_0, MemorySegment.ofArray(data), rows, cols);
        float[] x = Reference.randomFloats(n * cols, rnd);
        float[] y = new float[n * rows];
        m.matmul(x, y, n);
        for (int r = 0; r < rows; r++) {
            float[] w = Reference.dequantizeRow(GgmlType.Q8_0, data, r, cols);
            for (int v = 0; v < n; v++) {
                double expected = Reference.dot(w, x, v * cols);
                // 8192 columns: up to 512 additions per lane plus the reduction, so 8x the 1024-column bound.
                double tol = 8 * REL * Reference.absDot(w, x, v * cols) + 1e-6;
                if (!(Math.abs(y[v * rows + r] - expected) <= tol)) {
                    fail("vector %d row %d: got %s, expected %s +- %s", v, r, y[v * rows + r], expected, tol);
                }
            }
        }
    }

    @Test
    void f16WidensEveryBitPatternExactly() {
        int cols = 1 << 16;
        byte[] data = new byte[2 * cols];
        for (int h = 0; h < cols; h++) {
            data[2 * h] = (byte) h;
            data[2 * h + 1] = (byte) (h >> 8);
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.F16, MemorySegment.ofArray(data), 1, cols);
        float[] out = new float[cols];
        m.dequantizeRow(0, out, 0);
        for (int h = 0; h < cols; h++) {
            float expected = Float.float16ToFloat((short) h);
            boolean ok = Float.isNaN(expected) ? Float.isNaN(out[h]) : Float.floatToRawIntBits(out[h]) == Float.floatToRawIntBits(expected);
            if (!ok) {
                fail("half 0x%04x: got %s, expected %s", h, out[h], expected);
            }
        }
    }

    @Test
    void rejectsWrongSizesWithClearMessages() {
        MemorySegment seg = MemorySegment.ofArray(new byte[34 * 2]);
        assertThatThrownBy(() -> WeightMatrix.of(GgmlType.Q8_0, seg, 3, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("102 bytes");
        assertThatThrownBy(() -> WeightMatrix.of(GgmlType.Q8_0, seg, 2, 33))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole number");
        assertThatThrownBy(() -> WeightMatrix.of(GgmlType.Q3_K, MemorySegment.ofArray(new byte[110]), 1, 256))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("Q3_K");
        WeightMatrix m = WeightMatrix.of(GgmlType.Q8_0, seg, 2, 32);
        assertThatThrownBy(() -> m.matvec(new float[31], 0, new float[2], 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> m.matmul(new float[64], new float[3], 2)).isInstanceOf(IllegalArgumentException.class);
    }
}
