package ai.armature.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures what this machine can do, so benchmarks can report kernels as a fraction of the hardware limit:
 * streaming memory read bandwidth (decode is bound by it) and FP32 FMA throughput (prefill is bound by it), both
 * with Vector API code on all {@link Parallel#threads()} threads. Each probe takes about one to two seconds.
 */
public final class MachineProbe {
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final long BUFFER_BYTES = 1L << 30;
    private static final int CHUNK_BYTES = 1 << 21;

    private static volatile long sink;

    private MachineProbe() {
    }

    /**
     * Best-of-several bytes per second for reading a 1 GiB off-heap buffer (far larger than any cache) with all
     * threads, each claiming 2 MiB chunks.
     */
    public static double memoryReadBandwidthBytesPerSecond() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(BUFFER_BYTES, 4096);
            int chunks = (int) (BUFFER_BYTES / CHUNK_BYTES);
            // Touch every page first (with all threads) so the runs measure reads, not page faults.
            Parallel.forRange(0, chunks, 1, (from, to) -> {
                for (int c = from; c < to; c++) {
                    buf.asSlice((long) c * CHUNK_BYTES, CHUNK_BYTES).fill((byte) c);
                }
            });
            double best = 0;
            long[] partial = new long[chunks];
            for (int run = 0; run < 6; run++) {
                long t0 = System.nanoTime();
                Parallel.forRange(0, chunks, 1, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        partial[c] = sumChunk(buf, (long) c * CHUNK_BYTES);
                    }
                });
                long t1 = System.nanoTime();
                long s = 0;
                for (long p : partial) {
                    s += p;
                }
                sink = s;
                best = Math.max(best, BUFFER_BYTES / ((t1 - t0) * 1e-9));
            }
            return best;
        }
    }

    private static long sumChunk(MemorySegment buf, long offset) {
        int step = LS.vectorByteSize();
        LongVector a0 = LongVector.zero(LS), a1 = a0, a2 = a0, a3 = a0;
        for (long o = offset, end = offset + CHUNK_BYTES; o < end; o += 4L * step) {
            a0 = a0.add(LongVector.fromMemorySegment(LS, buf, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(LongVector.fromMemorySegment(LS, buf, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(LongVector.fromMemorySegment(LS, buf, o + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(LongVector.fromMemorySegment(LS, buf, o + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Best-of-several FP32 floating-point operations per second (an FMA counts as two) of a register-resident loop
     * of independent vector FMAs on all threads.
     */
    public static double fmaPeakFlopsPerSecond() {
        int tasks = Parallel.threads() * 8;
        int iterations = 200_000;
        float[] results = new float[tasks];
        double flopsPerTask = 2.0 * 12 * FS.length() * (double) iterations;
        double best = 0;
        for (int run = 0; run < 8; run++) {
            long t0 = System.nanoTime();
            Parallel.forRange(0, tasks, 1, (from, to) -> {
                for (int t = from; t < to; t++) {
                    results[t] = fmaLoop(iterations, t);
                }
            });
            long t1 = System.nanoTime();
            float s = 0;
            for (float r : results) {
                s += r;
            }
            sink = Float.floatToIntBits(s);
            best = Math.max(best, tasks * flopsPerTask / ((t1 - t0) * 1e-9));
        }
        return best;
    }

    /** Twelve independent accumulators cover the FMA latency (4 cycles) times two pipes with room to spare. */
    private static float fmaLoop(int iterations, int seed) {
        FloatVector m = FloatVector.broadcast(FS, 0.999999f);
        FloatVector c = FloatVector.broadcast(FS, 1e-7f * seed);
        FloatVector a0 = FloatVector.broadcast(FS, 1f), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
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
                .reduceLanes(VectorOperators.ADD);
    }
}
