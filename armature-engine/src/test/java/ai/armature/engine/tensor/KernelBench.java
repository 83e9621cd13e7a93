package ai.armature.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Manual benchmark of the kernels against the machine's limits (not a test; never asserted). Run after
 * {@code mvn -pl armature-engine test-compile}:
 * <pre>
 * java --add-modules jdk.incubator.vector -cp armature-engine/target/classes:armature-engine/target/test-classes \
 *     ai.armature.engine.tensor.KernelBench [probe] [matvec] [matmul] [hotcore] [percore] [pairs] [batch] [hotvectors] [repack] [quantize] [cpufma] [prefill[:TYPE]]
 * </pre>
 */
public final class KernelBench {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** CPU time spent on passes before the measured ones of perCore and pairs, so that C2 has compiled the kernels
     * ({@code -DwarmupMs=N}, default 3000: on the shared 2-core machine C2 took more than one CPU second of the bench thread to finish product1). */
    private static final long WARM_UP_NS = Long.getLong("warmupMs", 3000) * 1_000_000L;

    private KernelBench() {
    }

    /** CPU time of this thread: on a shared machine it excludes time other processes held the core. */
    private static long cpu() {
        return THREADS.getCurrentThreadCpuTime();
    }

    public static void main(String[] args) {
        String which = args.length == 0 ? "probe matvec matmul" : String.join(" ", args);
        System.out.printf("threads=%d%n", Parallel.threads());
        double bw = 0;
        if (which.contains("probe")) {
            bw = MachineProbe.memoryReadBandwidthBytesPerSecond();
            double peak = MachineProbe.fmaPeakFlopsPerSecond();
            System.out.printf("MachineProbe: read bandwidth %.2f GB/s, FP32 FMA peak %.1f GFLOP/s%n", bw / 1e9, peak / 1e9);
        }
        if (which.contains("matvec")) {
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16}) {
                if (!which.contains("matvec:") || which.contains("matvec:" + t)) {
                    matvec(t, 2048, 5632, bw);
                }
            }
        }
        if (which.contains("hotcore")) {
            // One thread, CPU time, a 512 KiB matrix that stays in L2: the kernel's compute speed alone, much less
            // disturbed than streaming by other processes sharing the memory bus.
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                if (!which.contains("hotcore:") || which.contains("hotcore:" + t)) {
                    perCore(t, 512L << 10, 3000);
                }
            }
        }
        if (which.contains("pairs")) {
            // Two vectors per call through the fused small-batch kernels (L2-resident, CPU time): weight-vector
            // products per second, to compare with twice the one-vector figure.
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                if (!which.contains("pairs:") || which.contains("pairs:" + t)) {
                    pairs(t);
                }
            }
        }
        if (which.contains("percore")) {
            // One thread, CPU time: what a core sustains streaming a 64 MiB matrix, unaffected by other processes
            // taking the core (the machine is shared); compare twice this with the probe's bandwidth.
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32}) {
                if (!which.contains("percore:") || which.contains("percore:" + t)) {
                    perCore(t, 64L << 20, 6);
                }
            }
        }
        if (which.contains("batch")) {
            // Batched decode through the public matmul (whatever path it routes n to), one thread, CPU time, a 16 MiB
            // matrix (beyond L2): weight-vector products per CPU second for 1 to 8 and 16 vectors, and the bytes one product
            // allocates on the calling thread (run with -Darmature.threads=1: both figures count only that thread).
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                if (!which.contains("batch:") || which.contains("batch:" + t)) {
                    for (int round = 0; round < Integer.getInteger("rounds", 1); round++) { // -Drounds=2: after compilation settles
                        batch(t, 16L << 20);
                    }
                }
            }
        }
        if (which.contains("hotvectors")) {
            // As batch, on a 512 KiB matrix that stays in L2: the kernels' compute speed alone per vector count.
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                if (!which.contains("hotvectors:") || which.contains("hotvectors:" + t)) {
                    for (int round = 0; round < Integer.getInteger("rounds", 1); round++) {
                        batch(t, 512L << 10);
                    }
                }
            }
        }
        if (which.contains("quantize")) {
            // The activation quantization a decode product runs on the calling thread before its hand-off (the pool's
            // other threads wait meanwhile): CPU time per call for one vector of a 1.1B layer's widths.
            for (int cols : new int[] {2048, 5632}) {
                quantize(cols);
            }
        }
        if (which.contains("repack")) {
            // Making a matrix (the load-time copy into the interleaved layout), one thread, CPU time per GB of weights.
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                if (!which.contains("repack:") || which.contains("repack:" + t)) {
                    repack(t);
                }
            }
        }
        if (which.contains("cpufma")) {
            // Single-thread FMA peak per CPU second (run with -Darmature.threads=1 alongside the matmul figures).
            VectorSpecies<Float> fs = FloatVector.SPECIES_512;
            double best = 0;
            for (int rep = 0; rep < 5; rep++) {
                long t0 = cpu();
                float r = fma(fs, 2_000_000);
                long t1 = cpu();
                best = Math.max(best, 2.0 * 12 * fs.length() * 2_000_000 / ((t1 - t0) * 1e-9));
                if (r == 42) System.out.print("");
            }
            System.out.printf("single-thread FMA peak: %.1f GFLOP/s per CPU second%n", best / 1e9);
        }
        if (which.contains("prefill")) {
            if (Parallel.threads() == 1) {
                System.out.printf("MachineProbe FP32 FMA peak of this thread: %.1f GFLOP/s (wall time, best of 8 bursts)%n",
                        MachineProbe.fmaPeakFlopsPerSecond() / 1e9);
            }
            // The prompt matmul's kernels on this thread alone (no pool), CPU time: G FLOP/s (2 per weight-vector product)
            // for the layer shapes of a 1.1B model, the packed outer-product kernels ("packed") against the row-tile
            // dot-product ones they replace for large batches ("tiles"); compare with cpufma's single-thread peak.
            GgmlType[] types = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32};
            for (GgmlType t : types) {
                if (!which.contains("prefill:") || which.contains("prefill:" + t + " ") || which.endsWith("prefill:" + t)) {
                    for (int[] shape : new int[][] {{5632, 2048}, {2048, 5632}}) {
                        prefill(t, shape[0], shape[1], Integer.getInteger("prefillN", 512));
                    }
                }
            }
        }
        if (which.contains("matmul")) {
            for (int[] shape : new int[][] {{2048, 2048}, {5632, 2048}}) {
                for (int n : new int[] {64, 8}) {
                    matmul(GgmlType.Q8_0, shape[0], shape[1], n);
                }
            }
            matmul(GgmlType.Q4_0, 5632, 2048, 64);
        }
    }

    /** Random matrices in a shared arena; {@code copies} distinct ones so a rotation can defeat the caches. */
    private static WeightMatrix[] matrices(GgmlType t, int rows, int cols, int copies) {
        Random rnd = new Random(7);
        byte[] data = Reference.randomMatrix(t, rows, cols, rnd);
        WeightMatrix[] ms = new WeightMatrix[copies];
        for (int i = 0; i < copies; i++) {
            MemorySegment seg = Arena.global().allocate(data.length, 64);
            seg.copyFrom(MemorySegment.ofArray(data));
            ms[i] = WeightMatrix.of(t, seg, rows, cols);
        }
        return ms;
    }

    private static void matvec(GgmlType t, int rows, int cols, double bw) {
        // 10 distinct matrices (over 100 MB for Q8_0) so each call streams from DRAM, as in a model's decode.
        WeightMatrix[] ms = matrices(t, rows, cols, 10);
        float[] x = Reference.randomFloats(cols, new Random(1));
        float[] y = new float[rows];
        long bytes = ms[0].data().byteSize();
        for (int i = 0; i < 300; i++) {
            ms[i % ms.length].matvec(x, 0, y, 0);
        }
        double best = 0;
        double bestHot = 0;
        for (int rep = 0; rep < 5; rep++) {
            int calls = 200;
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                ms[i % ms.length].matvec(x, 0, y, 0);
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                ms[0].matvec(x, 0, y, 0);
            }
            long t2 = System.nanoTime();
            best = Math.max(best, bytes * (double) calls / ((t1 - t0) * 1e-9));
            bestHot = Math.max(bestHot, bytes * (double) calls / ((t2 - t1) * 1e-9));
        }
        System.out.printf("matvec %-5s %dx%d: %.2f GB/s streaming (%.0f%% of probe), %.2f GB/s one matrix (L3-resident), %.1f us/call%n",
                t, rows, cols, best / 1e9, bw > 0 ? 100 * best / bw : Double.NaN, bestHot / 1e9, bytes / best * 1e6);
    }

    private static void perCore(GgmlType t, long bytes, int reps) {
        int cols = 2048;
        int rows = (int) (bytes / t.bytesFor(cols)) / 32 * 32; // whole groups of the interleaved layouts
        BaseMatrix m = (BaseMatrix) matrices(t, rows, cols, 1)[0];
        float[] x = Reference.randomFloats(cols, new Random(2));
        float[] y = new float[rows];
        double[] rates = new double[reps];
        Int8Activations a = Int8Activations.forThisThread();
        long warm = cpu();
        for (int rep = -1; rep < reps; rep++) {
            if (rep == -1 && cpu() - warm < WARM_UP_NS) {
                rep--; // warm-up passes (compilation) until a CPU second is spent, then the measured ones
            }
            long c0 = cpu();
            if (m.interleavedRows() > 0) {
                // The decode path of the repacked layouts: quantize the vector, then every group of rows.
                a.quantize(x, 0, 1, cols);
                for (int g = 0; g < (rows + m.interleavedRows() - 1) / m.interleavedRows(); g++) {
                    m.groupProducts(g, a, 1, y, 0, rows);
                }
            } else {
                for (int r = 0; r < rows; r++) {
                    y[r] = m.dot(r * m.rowBytes, x, 0);
                }
            }
            long c1 = cpu();
            if (rep >= 0) {
                rates[rep] = m.data().byteSize() / ((c1 - c0) * 1e-9);
            }
        }
        // The median of the repetitions: the best one is sometimes a thread CPU clock reading far too short (up to 4x
        // the kernel's real speed on this shared VM), and the median also drops the ones the compiler or GC slowed.
        double mid = median(rates);
        System.out.printf("per core %-5s %s: %.2f GB/s per CPU second (%.3f ns per weight, %.1f G weights/s, median of %d)%n", t, bytes < (8 << 20) ? "in L2" : "streaming", mid / 1e9,
                1e9 * t.bytesFor(cols) / cols / mid, mid / (t.bytesFor(cols) / (double) cols) / 1e9, reps);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static void pairs(GgmlType t) {
        int cols = 2048;
        int rows = (int) ((512L << 10) / t.bytesFor(cols)) / 32 * 32;
        BaseMatrix m = (BaseMatrix) matrices(t, rows, cols, 1)[0];
        float[] x = Reference.randomFloats(2 * cols, new Random(2));
        float[] y = new float[2 * rows];
        Int8Activations a = Int8Activations.forThisThread();
        int reps = 3000;
        double[] rate1 = new double[reps], rate2 = new double[reps];
        long warm = cpu();
        for (int rep = -1; rep < reps; rep++) {
            if (rep == -1 && cpu() - warm < WARM_UP_NS) {
                rep--;
            }
            long c0 = cpu();
            a.quantize(x, 0, 2, cols);
            for (int g = 0; g < rows / 32; g++) m.groupProducts(g, a, 2, y, 0, rows);
            long c1 = cpu();
            for (int g = 0; g < rows / 32; g++) m.groupProducts(g, a, 1, y, 0, rows);
            long c2 = cpu();
            if (rep >= 0) {
                rate2[rep] = 2.0 * rows * cols / (c1 - c0);
                rate1[rep] = (double) rows * cols / (c2 - c1);
            }
        }
        System.out.printf("fused pair %-5s in L2: %.1f G weight-vector products/s (one vector: %.1f G/s; medians of %d)%n", t, median(rate2), median(rate1), reps);
    }

    private static void quantize(int cols) {
        float[] x = new float[cols];
        Random rnd = new Random(cols);
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        Int8Activations a = new Int8Activations();
        int calls = 200_000;
        for (int round = 0; round < 3; round++) { // the first rounds compile
            long t0 = cpu();
            for (int i = 0; i < calls; i++) {
                a.quantize(x, 0, 1, cols);
            }
            long t1 = cpu();
            System.out.printf("quantize %d floats: %.2f us per call (CPU time, round %d)%n", cols, (t1 - t0) / 1e3 / calls, round);
        }
    }

    private static void repack(GgmlType t) {
        int rows = 5632, cols = 2048;
        byte[] data = Reference.randomMatrix(t, rows, cols, new Random(7));
        MemorySegment seg = Arena.global().allocate(data.length, 64);
        seg.copyFrom(MemorySegment.ofArray(data));
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 20; rep++) {
            long c0 = cpu();
            WeightMatrix m = WeightMatrix.of(t, seg, rows, cols);
            long c1 = cpu();
            best = Math.min(best, (c1 - c0) / (data.length / 1e9));
            if (m.rows() != rows) throw new AssertionError();
        }
        System.out.printf("repack %-5s %dx%d: %.2f CPU seconds per GB of weights (best of 20)%n", t, rows, cols, best / 1e9);
    }

    private static void batch(GgmlType t, long matrixBytes) {
        int cols = 2048;
        int rows = (int) (matrixBytes / t.bytesFor(cols)) / 32 * 32;
        int reps = matrixBytes < (8 << 20) ? 200 : 8;
        WeightMatrix m = matrices(t, rows, cols, 1)[0];
        StringBuilder line = new StringBuilder(String.format("%s %-5s %dx%d, G weight-vector products/s (bytes allocated per product):", matrixBytes < (8 << 20) ? "in L2" : "batch", t, rows, cols));
        com.sun.management.ThreadMXBean alloc = (com.sun.management.ThreadMXBean) THREADS;
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 16}) {
            float[] x = Reference.randomFloats(n * cols, new Random(n));
            float[] y = new float[n * rows];
            for (int i = 0; i < 5 * reps; i++) { // C2 compiles the kernels on the way (compiled ones allocate nothing)
                m.matmul(x, y, n);
            }
            double best = 0;
            long bytes = Long.MAX_VALUE;
            for (int rep = 0; rep < reps; rep++) {
                long a0 = alloc.getCurrentThreadAllocatedBytes();
                long c0 = cpu();
                m.matmul(x, y, n);
                long c1 = cpu();
                bytes = Math.min(bytes, alloc.getCurrentThreadAllocatedBytes() - a0);
                best = Math.max(best, (double) rows * cols * n / (c1 - c0));
            }
            line.append(String.format(" n=%d %.1f (%d)", n, best, bytes));
        }
        System.out.println(line);
    }

    private static void matmul(GgmlType t, int rows, int cols, int n) {
        WeightMatrix m = matrices(t, rows, cols, 1)[0];
        float[] x = Reference.randomFloats(n * cols, new Random(2));
        float[] y = new float[n * rows];
        for (int i = 0; i < 20; i++) {
            m.matmul(x, y, n);
        }
        double best = 0;
        double bestCpu = 0;
        for (int rep = 0; rep < 5; rep++) {
            int calls = 10;
            long c0 = cpu();
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                m.matmul(x, y, n);
            }
            long t1 = System.nanoTime();
            long c1 = cpu();
            best = Math.max(best, 2.0 * rows * cols * n * calls / ((t1 - t0) * 1e-9));
            bestCpu = Math.max(bestCpu, 2.0 * rows * cols * n * calls / ((c1 - c0) * 1e-9));
        }
        System.out.printf("matmul %-5s %dx%d n=%d: %.1f GFLOP/s wall%s%n", t, rows, cols, n, best / 1e9,
                Parallel.threads() == 1 ? String.format(" (%.1f per CPU second)", bestCpu / 1e9) : "");
    }

    private static void prefill(GgmlType t, int rows, int cols, int n) {
        BaseMatrix m = (BaseMatrix) matrices(t, rows, cols, 1)[0];
        float[] x = Reference.randomFloats(n * cols, new Random(2));
        float[] y = new float[n * rows];
        int reps = Integer.getInteger("prefillReps", 3);
        double[] packed = new double[reps], tiles = new double[reps];
        double flops = 2.0 * rows * cols * n;
        long warm = cpu();
        for (int rep = -1; rep < reps; rep++) {
            if (rep == -1 && cpu() - warm < WARM_UP_NS) {
                rep--; // warm-up passes (compilation) until the warm-up CPU time is spent
            }
            long c0 = cpu();
            m.matmulRows(0, rows, x, y, n);
            long c1 = cpu();
            m.matmulTiles(0, rows, x, y, n);
            long c2 = cpu();
            if (rep >= 0) {
                packed[rep] = flops / (c1 - c0);
                tiles[rep] = flops / (c2 - c1);
            }
        }
        System.out.printf("prefill %-5s %dx%d n=%d, one thread: packed %.1f, tiles %.1f G FLOP/s per CPU second (medians of %d)%n",
                t, rows, cols, n, median(packed), median(tiles), reps);
    }

    private static float fma(VectorSpecies<Float> fs, int iterations) {
        FloatVector m = FloatVector.broadcast(fs, 0.999999f);
        FloatVector c = FloatVector.broadcast(fs, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(fs, 1f), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (int i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
