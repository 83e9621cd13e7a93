package ai.armature.engine.tensor;

import ai.armature.protocol.memory.LargePages;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 weights: blocks of 32 elements, each an f16 scale {@code d} and 32 signed bytes {@code q}, value
 * {@code q * d}. The dot widens 16 quants at a time straight to floats and folds the block scale in with one
 * multiply-add per block, so each weight byte is touched once.
 *
 * <p>Where the system offers transparent huge pages ({@link LargePages#hugePages}) the kernels read a copy of the
 * stored bytes made at load on huge pages (1.0625 bytes per weight, the file's size) instead of the mapped file's
 * 4 KiB pages, whose TLB misses and page-bounded prefetching cap what a core streams: one thread, CPU time, four
 * 64 MiB matrices, the two kinds of memory alternated in one JVM, 15.1 against 12.9 G weights/s. The mapped file's
 * pages are not read again and stay only as reclaimable page cache.
 */
final class Q8_0Matrix extends BaseMatrix {
    private static final int BLOCK = 32;
    private static final int BYTES = 34;

    /** What the kernels read: the huge-page copy, or the stored bytes themselves. */
    private final MemorySegment weights;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
        if (copied()) {
            MemorySegment copy = LargePages.allocate(data.byteSize());
            copy.copyFrom(data);
            weights = copy;
        } else {
            weights = data;
        }
    }

    /** Whether matrices are copied at load (see the class comment); {@link WeightMatrix#repackedBytes} counts it. */
    static boolean copied() {
        return LargePages.hugePages();
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment s = weights;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int blocks = cols / BLOCK;
        int b = 0;
        long o = rowOffset;
        int xi = xOff;
        // Two blocks per iteration into two accumulators to hide the FMA latency.
        for (; b + 1 < blocks; b += 2, o += 2 * BYTES, xi += 2 * BLOCK) {
            FloatVector q0 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 2, LE));
            FloatVector q1 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 18, LE));
            FloatVector q2 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + BYTES + 2, LE));
            FloatVector q3 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + BYTES + 18, LE));
            FloatVector t0 = q1.fma(FloatVector.fromArray(F, x, xi + 16), q0.mul(FloatVector.fromArray(F, x, xi)));
            FloatVector t1 = q3.fma(FloatVector.fromArray(F, x, xi + 48), q2.mul(FloatVector.fromArray(F, x, xi + 32)));
            acc0 = t0.fma(bc(f16(s, o)), acc0);
            acc1 = t1.fma(bc(f16(s, o + BYTES)), acc1);
        }
        if (b < blocks) {
            FloatVector q0 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 2, LE));
            FloatVector q1 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 18, LE));
            FloatVector t0 = q1.fma(FloatVector.fromArray(F, x, xi + 16), q0.mul(FloatVector.fromArray(F, x, xi)));
            acc0 = t0.fma(bc(f16(s, o)), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    int fusedVectors() {
        return 4;
    }

    /** Two chains per vector (low and high half of each block) so the multiply-adds do not wait on each other. */
    @Override
    void dots(long rowOffset, float[] x, int xOff, int count, float[] out) {
        MemorySegment s = weights;
        int c = cols;
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int blocks = c / BLOCK;
        long o = rowOffset;
        int xi = xOff;
        for (int b = 0; b < blocks; b++, o += BYTES, xi += BLOCK) {
            FloatVector d = bc(f16(s, o));
            FloatVector q0 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 2, LE)).mul(d);
            FloatVector q1 = bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 18, LE)).mul(d);
            a0 = q0.fma(FloatVector.fromArray(F, x, xi), a0);
            b0 = q1.fma(FloatVector.fromArray(F, x, xi + 16), b0);
            a1 = q0.fma(FloatVector.fromArray(F, x, xi + c), a1);
            b1 = q1.fma(FloatVector.fromArray(F, x, xi + c + 16), b1);
            if (count > 2) {
                a2 = q0.fma(FloatVector.fromArray(F, x, xi + 2 * c), a2);
                b2 = q1.fma(FloatVector.fromArray(F, x, xi + 2 * c + 16), b2);
            }
            if (count > 3) {
                a3 = q0.fma(FloatVector.fromArray(F, x, xi + 3 * c), a3);
                b3 = q1.fma(FloatVector.fromArray(F, x, xi + 3 * c + 16), b3);
            }
        }
        out[0] = a0.add(b0).reduceLanes(VectorOperators.ADD);
        out[1] = a1.add(b1).reduceLanes(VectorOperators.ADD);
        if (count > 2) out[2] = a2.add(b2).reduceLanes(VectorOperators.ADD);
        if (count > 3) out[3] = a3.add(b3).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment s = weights;
        int blocks = cols / BLOCK;
        long o = rowOffset;
        for (int b = 0; b < blocks; b++, o += BYTES, off += BLOCK) {
            float d = f16(s, o);
            bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 2, LE)).mul(d).intoArray(out, off);
            bytesToFloats(ByteVector.fromMemorySegment(B128, s, o + 18, LE)).mul(d).intoArray(out, off + 16);
        }
    }
}
