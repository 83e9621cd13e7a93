package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The shared half of every weight matrix: argument checks, splitting products over {@link Parallel}, and the
 * tiled matmul. A subclass supplies two kernels over one stored row: a fused dequantize-and-dot for the decode
 * path ({@link #dot}) and a dequantize into floats ({@link #dequantize}) that the matmul runs once per row tile
 * or packed panel and reuses for many activation vectors ({@link #matmulRows}). The quantized types run decode on their interleaved copies instead
 * ({@link #groupProducts}).
 *
 * <p>The kernels are written for 512-bit vectors (16 floats; one Q8_0/Q4_0 block is two vectors), which is what
 * the target machines (AVX-512) run natively. On a CPU without AVX-512 they still compute the right result, but
 * the JIT emulates the wide vectors and they are slow.
 */
abstract sealed class BaseMatrix implements WeightMatrix
        permits F32Matrix, F16Matrix, BF16Matrix, Q8_0Matrix, Q4_0Matrix, Q4KMatrix, Q5KMatrix, Q6KMatrix {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> S512 = ShortVector.SPECIES_512;
    static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;
    static final int L = F.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /** Rows per matmul tile: each tile is dequantized once and multiplied with TILE_N vectors at a time. */
    static final int TILE_R = 4;
    static final int TILE_N = 4;

    final GgmlType type;
    final MemorySegment data;
    final int rows;
    final int cols;
    final long rowBytes;

    BaseMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("a " + type + " matrix needs positive dimensions, got " + rows + " x " + cols);
        }
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.bytesFor(cols);
        long expected = Math.multiplyExact(rowBytes, (long) rows);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("a " + rows + " x " + cols + " " + type + " matrix takes " + expected
                    + " bytes, but the data holds " + data.byteSize());
        }
    }

    /** The dot product of the row stored at byte {@code rowOffset} with {@code x[xOff .. xOff + cols)}. */
    abstract float dot(long rowOffset, float[] x, int xOff);

    /** Writes the row stored at byte {@code rowOffset} as {@code cols} floats into {@code out[off ..]}. */
    abstract void dequantize(long rowOffset, float[] out, int off);

    /**
     * For the interleaved layouts, the most vectors {@link #groupProducts} takes (decode batches up to this size run
     * on int8 activations; larger ones run the tiled float matmul); 0 for the other types.
     */
    int fusedVectors() {
        return 0;
    }

    /**
     * Rows per group of an interleaved layout made at load (see {@link Interleaved}), whose kernels multiply the
     * weights with activations quantized to int8 ({@link Int8Activations}); 0 for kernels that read the stored rows
     * one at a time with float activations.
     */
    int interleavedRows() {
        return 0;
    }

    /**
     * For the interleaved layouts: the rows of group {@code g} times {@code count} quantized vectors (1 <=
     * count <= max(1, {@link #fusedVectors()})), written to {@code y[v * yStride + yOff + r]} for every valid row r
     * of the group and vector v.
     */
    void groupProducts(int g, Int8Activations a, int count, float[] y, int yOff, int yStride) {
        throw new UnsupportedOperationException(type + " has no interleaved layout");
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    @Override
    public final MemorySegment data() {
        return data;
    }

    @Override
    public final void dequantizeRow(int row, float[] out, int offset) {
        java.util.Objects.checkIndex(row, rows);
        java.util.Objects.checkFromIndexSize(offset, cols, out.length);
        dequantize(row * rowBytes, out, offset);
    }

    @Override
    public final void matvec(float[] x, int xOffset, float[] y, int yOffset) {
        java.util.Objects.checkFromIndexSize(xOffset, cols, x.length);
        java.util.Objects.checkFromIndexSize(yOffset, rows, y.length);
        if (interleavedRows() > 0) {
            groupedProducts(x, xOffset, 1, y, yOffset);
            return;
        }
        MatvecTask t = MATVEC.get();
        t.m = this;
        t.x = x;
        t.xOff = xOffset;
        t.y = y;
        t.yOff = yOffset;
        try {
            Parallel.forRange(0, rows, matvecGrain(), t);
        } finally {
            t.m = null;
            t.x = null;
            t.y = null;
        }
    }

    /** Rows per chunk: a few chunks per thread so a late worker is absorbed, but not so many that claims cost. */
    private int matvecGrain() {
        int chunks = Parallel.threads() * 4;
        int grain = (rows + chunks - 1) / chunks;
        // Tiny matrices are not worth waking workers for: keep at least ~64K weights per chunk.
        int minRows = Math.max(1, (1 << 16) / cols);
        return Math.max(grain, minRows);
    }

    @Override
    public final void matmul(float[] x, float[] y, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("matmul needs at least one vector, got n = " + n);
        }
        if ((long) n * cols > x.length || (long) n * rows > y.length) {
            throw new IllegalArgumentException("matmul of a " + rows + " x " + cols + " matrix with " + n
                    + " vectors needs x of " + (long) n * cols + " and y of " + (long) n * rows + " floats, got "
                    + x.length + " and " + y.length);
        }
        if (n == 1) {
            matvec(x, 0, y, 0);
            return;
        }
        if (n <= fusedVectors() && interleavedRows() > 0) {
            groupedProducts(x, 0, n, y, 0);
            return;
        }
        MatmulTask t = MATMUL.get();
        t.m = this;
        t.x = x;
        t.y = y;
        t.n = n;
        try {
            int tile = n >= PACKED_MIN ? FloatGemm.PANEL : TILE_R;
            int tiles = (rows + tile - 1) / tile;
            int tilesPerChunk = Math.max(1, Math.min(8, tiles / (Parallel.threads() * 4)));
            Parallel.forRange(0, rows, tilesPerChunk * tile, t);
        } finally {
            t.m = null;
            t.x = null;
            t.y = null;
        }
    }

    /**
     * The product with {@code n} vectors through the interleaved kernels: the vectors are quantized once on the
     * calling thread, then the pool's threads take groups of rows.
     */
    private void groupedProducts(float[] x, int xOffset, int n, float[] y, int yOffset) {
        GroupTask t = GROUP_TASK.get();
        t.add(this, y, yOffset);
        t.runAll(x, xOffset, n, cols);
    }

    /**
     * {@link WeightMatrix#matmulSharedInput}: every matrix whose interleaved kernels take {@code n} vectors joins one
     * product (the input quantized once, one hand-off to the pool over all their groups of rows); the others, and
     * matrices of other implementations, run their own {@link #matmul}. One quantization serves every interleaved
     * type: {@link Int8Activations} holds what each type's kernels read (the quants and block scales, the sums for
     * Q4_0/Q4_K/Q5_K's offset, the even-element sums for Q6_K).
     */
    static void matmulSharedInput(float[] x, int n, WeightMatrix[] matrices, float[][] ys) {
        if (matrices.length != ys.length || matrices.length == 0) {
            throw new IllegalArgumentException("a shared-input product needs one output per matrix and at least one matrix, got "
                    + matrices.length + " matrices and " + ys.length + " outputs");
        }
        int cols = matrices[0].cols();
        for (WeightMatrix m : matrices) {
            if (m.cols() != cols) {
                throw new IllegalArgumentException("a shared-input product needs matrices of one width, got " + cols
                        + " and " + m.cols() + " columns");
            }
        }
        int fused = 0;
        for (int i = 0; i < matrices.length; i++) {
            if (joinsShared(matrices[i], n)) {
                fused++;
                if ((long) n * cols > x.length || (long) n * matrices[i].rows() > ys[i].length) {
                    throw new IllegalArgumentException("the product of a " + matrices[i].rows() + " x " + cols
                            + " matrix with " + n + " vectors needs x of " + (long) n * cols + " and an output of "
                            + (long) n * matrices[i].rows() + " floats, got " + x.length + " and " + ys[i].length);
                }
            }
        }
        for (int i = 0; i < matrices.length; i++) {
            if (!joinsShared(matrices[i], n)) {
                matrices[i].matmul(x, ys[i], n);
            }
        }
        if (fused == 0) {
            return;
        }
        GroupTask t = GROUP_TASK.get();
        for (int i = 0; i < matrices.length; i++) {
            if (joinsShared(matrices[i], n)) {
                t.add((BaseMatrix) matrices[i], ys[i], 0);
            }
        }
        t.runAll(x, 0, n, cols);
    }

    private static boolean joinsShared(WeightMatrix m, int n) {
        return m instanceof BaseMatrix b && b.interleavedRows() > 0 && n >= 1 && n <= Math.max(1, b.fusedVectors());
    }

    private static final ThreadLocal<GroupTask> GROUP_TASK = ThreadLocal.withInitial(GroupTask::new);

    /**
     * The groups of rows of one or more interleaved matrices with one quantized input, numbered one after another
     * (matrix i's group g is {@code first[i] + g}), so that a single {@link Parallel#forRange} covers them all.
     */
    private static final class GroupTask implements Parallel.RangeTask {
        BaseMatrix[] m = new BaseMatrix[4];
        float[][] y = new float[4][];
        int[] yOff = new int[4];
        /** {@code first[i]}: the union's index of matrix i's first group; {@code first[count]}: the union's size. */
        int[] first = new int[5];
        int count;
        Int8Activations a;
        int n;

        void add(BaseMatrix matrix, float[] out, int outOffset) {
            if (count == m.length) {
                m = java.util.Arrays.copyOf(m, 2 * count);
                y = java.util.Arrays.copyOf(y, 2 * count);
                yOff = java.util.Arrays.copyOf(yOff, 2 * count);
                first = java.util.Arrays.copyOf(first, 2 * count + 1);
            }
            int per = matrix.interleavedRows();
            m[count] = matrix;
            y[count] = out;
            yOff[count] = outOffset;
            first[count + 1] = first[count] + (matrix.rows + per - 1) / per;
            count++;
        }

        /** Quantizes the input, runs every added matrix's groups in one hand-off, and forgets the matrices. */
        void runAll(float[] x, int xOffset, int vectors, int cols) {
            try {
                a = Int8Activations.forThisThread();
                a.quantize(x, xOffset, vectors, cols);
                n = vectors;
                int groups = first[count];
                int chunks = Parallel.threads() * 4;
                // Tiny products are not worth waking workers for: keep at least ~64K weights per chunk.
                int grain = Math.max((groups + chunks - 1) / chunks, Math.max(1, (1 << 16) / (Interleaved.ROWS * cols)));
                Parallel.forRange(0, groups, grain, this);
            } finally {
                clear();
            }
        }

        void clear() {
            java.util.Arrays.fill(m, 0, count, null);
            java.util.Arrays.fill(y, 0, count, null);
            count = 0;
            a = null;
        }

        @Override
        public void run(int from, int to) {
            int i = 0;
            while (first[i + 1] <= from) {
                i++;
            }
            for (int g = from; g < to; g++) {
                while (g >= first[i + 1]) {
                    i++;
                }
                BaseMatrix mm = m[i];
                mm.groupProducts(g - first[i], a, n, y[i], yOff[i], mm.rows);
            }
        }
    }

    private static final ThreadLocal<MatvecTask> MATVEC = ThreadLocal.withInitial(MatvecTask::new);
    private static final ThreadLocal<MatmulTask> MATMUL = ThreadLocal.withInitial(MatmulTask::new);
    /** Per-thread matmul scratch: [0] the dequantized row tile (grown on demand), [1] the 4x4 kernel's 16 sums. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[16]});

    private static final class MatvecTask implements Parallel.RangeTask {
        BaseMatrix m;
        float[] x;
        int xOff;
        float[] y;
        int yOff;

        @Override
        public void run(int from, int to) {
            BaseMatrix mm = m;
            float[] xx = x;
            float[] yy = y;
            int xo = xOff;
            int yo = yOff;
            long rb = mm.rowBytes;
            for (int r = from; r < to; r++) {
                yy[yo + r] = mm.dot(r * rb, xx, xo);
            }
        }
    }

    private static final class MatmulTask implements Parallel.RangeTask {
        BaseMatrix m;
        float[] x;
        float[] y;
        int n;

        @Override
        public void run(int from, int to) {
            m.matmulRows(from, to, x, y, n);
        }
    }

    /**
     * Smallest batch for the packed kernels: packing costs about a cycle per weight, which a batch of 64 repays (one
     * thread, {@code KernelBench prefill}: Q4_K 5632x2048 packed 83 against the row tiles' 68 G FLOP/s at 64 vectors,
     * Q8_0 62 against 74 at 32).
     */
    static final int PACKED_MIN = 64;

    /**
     * Rows {@code [from, to)} (from a multiple of {@link FloatGemm#PANEL} when {@code n >= PACKED_MIN}) of the
     * product with {@code n} vectors. Large batches (prompts) take the packed kernels: each panel of 32 rows is
     * dequantized once into a per-thread scratch, transposed so that one vector holds the 32 rows' values at one k
     * ({@link FloatGemm#pack}), and multiplied with all n vectors by outer products, 12 vectors at a time
     * ({@link FloatGemm#panel12}). The panel (256 KiB at 2048 columns) stays in L2 while the vectors stream past
     * it. Smaller batches take the row tiles ({@link #matmulTiles}).
     */
    final void matmulRows(int from, int to, float[] x, float[] y, int n) {
        if (n < PACKED_MIN) {
            matmulTiles(from, to, x, y, n);
            return;
        }
        int c = cols;
        int panel = FloatGemm.PANEL;
        PackScratch s = PACK.get();
        s.ensure(c, n);
        float[] w = s.rowsTile;
        float[] p = s.packed;
        for (int r0 = from; r0 < to; r0 += panel) {
            int nr = Math.min(panel, to - r0);
            for (int i = 0; i < panel; i++) {
                if (i < nr) {
                    dequantize((long) (r0 + i) * rowBytes, w, i * c);
                } else {
                    java.util.Arrays.fill(w, i * c, (i + 1) * c, 0f);
                }
            }
            FloatGemm.pack(w, c, p);
            // A whole panel writes y in place; a partial one (the matrix's last rows) a scratch of 32 rows per vector.
            boolean whole = nr == panel;
            float[] out = whole ? y : s.partial;
            int o = whole ? r0 : 0;
            int ys = whole ? rows : panel;
            int v = 0;
            for (; v + 12 <= n; v += 12) {
                FloatGemm.panel12(p, x, v * c, c, out, v * ys + o, ys);
            }
            if (v + 8 <= n) {
                FloatGemm.panel8(p, x, v * c, c, out, v * ys + o, ys);
                v += 8;
            }
            if (v + 4 <= n) {
                FloatGemm.panel4(p, x, v * c, c, out, v * ys + o, ys);
                v += 4;
            }
            for (; v < n; v++) {
                FloatGemm.panel1(p, x, v * c, c, out, v * ys + o, ys);
            }
            if (!whole) {
                for (int j = 0; j < n; j++) {
                    System.arraycopy(out, j * panel, y, j * rows + r0, nr);
                }
            }
        }
    }

    private static final ThreadLocal<PackScratch> PACK = ThreadLocal.withInitial(PackScratch::new);

    /** Per-thread scratch of the packed kernels: a tile of dequantized rows, its packed panel, a partial panel's output. */
    private static final class PackScratch {
        float[] rowsTile = new float[0];
        float[] packed = new float[0];
        float[] partial = new float[0];

        void ensure(int c, int n) {
            if (rowsTile.length < FloatGemm.PANEL * c) {
                rowsTile = new float[FloatGemm.PANEL * c];
                packed = new float[FloatGemm.PANEL * c];
            }
            if (partial.length < FloatGemm.PANEL * n) {
                partial = new float[FloatGemm.PANEL * n];
            }
        }
    }

    /**
     * Rows {@code [from, to)} of the product with {@code n} vectors: each tile of TILE_R rows is dequantized into a
     * per-thread scratch (rows stored {@code cols} apart), then multiplied with the vectors TILE_N at a time. Many
     * vectors are taken in blocks small enough to stay in L2 while every row tile of the chunk passes over them
     * (a tile is then dequantized once per block: cheap next to the block's multiply-adds).
     */
    final void matmulTiles(int from, int to, float[] x, float[] y, int n) {
        int c = cols;
        float[][] holder = SCRATCH.get();
        if (holder[0].length < TILE_R * c) {
            holder[0] = new float[TILE_R * c];
        }
        float[] w = holder[0];
        float[] sums = holder[1];
        int block = vectorBlock(c);
        for (int v0 = 0; v0 < n; v0 += block) {
            int v1 = Math.min(n, v0 + block);
            for (int r0 = from; r0 < to; r0 += TILE_R) {
                int nr = Math.min(TILE_R, to - r0);
                for (int i = 0; i < TILE_R; i++) {
                    if (i < nr) {
                        dequantize((long) (r0 + i) * rowBytes, w, i * c);
                    } else {
                        java.util.Arrays.fill(w, i * c, (i + 1) * c, 0f);
                    }
                }
                int v = v0;
                for (; v + TILE_N <= v1; v += TILE_N) {
                    FloatGemm.kernel4x4(w, c, x, v * c, y, v * rows + r0, rows, nr, sums);
                }
                for (; v + 2 <= v1; v += 2) {
                    FloatGemm.kernel4x2(w, c, x, v * c, y, v * rows + r0, rows, nr);
                }
                if (v < v1) {
                    FloatGemm.kernel4x1(w, c, x, v * c, y, v * rows + r0, nr);
                }
            }
        }
    }

    /** Vectors per block: about 512 KiB of activations (half of this machine's per-core L2), a multiple of TILE_N. */
    private static int vectorBlock(int cols) {
        int fit = (512 * 1024 / 4) / cols;
        return Math.max(TILE_N, Math.min(64, fit) / TILE_N * TILE_N);
    }

    // ---- helpers shared by the kernels ----

    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    static FloatVector bc(float v) {
        return FloatVector.broadcast(F, v);
    }

    static FloatVector bytesToFloats(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
    }

    /** Shifts each byte right by {@code bits} (unsigned) via 16-bit lanes; the caller masks away borrowed bits. */
    static ByteVector shrBytes(ByteVector v, int bits) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, bits).reinterpretAsBytes();
    }

    /** Shifts each byte left by {@code bits} via 16-bit lanes; the caller masks away borrowed bits. */
    static ByteVector shlBytes(ByteVector v, int bits) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHL, bits).reinterpretAsBytes();
    }
}
