package ai.armature.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K weights: super-blocks of 256 elements (210 bytes): 128 bytes {@code ql} (low 4 bits), 64 bytes {@code qh}
 * (high 2 bits, four elements per byte), 16 signed 8-bit scales (one per 16 elements), f16 {@code d}; value
 * {@code d * scale * (q - 32)}. Each half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; the four
 * 32-element quarters take the low/high nibbles of ql[0..32) and ql[32..64) with qh bits 0-1, 2-3, 4-5, 6-7.
 *
 * <p>The matrix is unpacked once, when it is made, into signed bytes {@code q - 32} in element order (off-heap,
 * one byte per weight) and a float array of {@code d * scale} per 16 elements; the kernels then run like Q8_0's.
 * That costs about 60% more memory for these tensors (1.25 bytes per weight instead of 0.82), which is why only
 * Q6_K does it: unpacking the bit fields in the kernel needs a loop body so large that C2 stops inlining the vector
 * intrinsics and boxes every vector, and a kernel split small enough to avoid that ran at a quarter of Q8_0's
 * speed. Q6_K is what quantizers use for the few most sensitive tensors (output, some value and down
 * projections), so the extra memory stays a small part of a model.
 */
final class Q6KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 210;
    private static final int GROUP = 16;

    /** {@code q - 32} for every element, row after row. */
    private final MemorySegment quants;
    /** {@code d * scale} for every 16 elements, row after row. */
    private final float[] scales;

    Q6KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
        long elements = (long) rows * cols;
        this.quants = Arena.ofAuto().allocate(elements, 64);
        this.scales = new float[Math.toIntExact(elements / GROUP)];
        long blocks = elements / BLOCK;
        for (long k = 0; k < blocks; k++) {
            unpack(data, k * BYTES, quants, k * BLOCK, scales, (int) (k * (BLOCK / GROUP)));
        }
    }

    /** Unpacks super-block at byte {@code o} into 256 signed bytes at {@code qo} and 16 scales at {@code so}. */
    private static void unpack(MemorySegment s, long o, MemorySegment q, long qo, float[] sc, int so) {
        for (int k = 0; k < 4; k++) {
            int h = k >> 1;
            int c = k & 1;
            long ql = o + 64 * h + 16 * c;
            ByteVector a = ByteVector.fromMemorySegment(B128, s, ql, LE);
            ByteVector b = ByteVector.fromMemorySegment(B128, s, ql + 32, LE);
            ByteVector hb = ByteVector.fromMemorySegment(B128, s, o + 128 + 32 * h + 16 * c, LE);
            long e = qo + 128 * h + 16 * c;
            a.and((byte) 0x0F).or(shlBytes(hb, 4).and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e, LE);
            b.and((byte) 0x0F).or(shlBytes(hb, 2).and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e + 32, LE);
            shrBytes(a, 4).and((byte) 0x0F).or(hb.and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e + 64, LE);
            shrBytes(b, 4).and((byte) 0x0F).or(shrBytes(hb, 2).and((byte) 0x30)).sub((byte) 32).intoMemorySegment(q, e + 96, LE);
        }
        float d = f16(s, o + 208);
        for (int i = 0; i < 16; i++) {
            // Scale i covers elements 16i..16i+15: ggml's sc[l/16 + 2*quarter] per half, which is this order.
            sc[so + i] = d * s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 192 + i);
        }
    }

    /** Element index in {@link #quants} of the first element of the row stored at byte {@code rowOffset}. */
    private long quantOffset(long rowOffset) {
        return rowOffset / rowBytes * cols;
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        MemorySegment q = quants;
        float[] sc = scales;
        long qo = quantOffset(rowOffset);
        int si = (int) (qo / GROUP);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        int pairs = cols >> 5;
        int xi = xOff;
        for (int p = 0; p < pairs; p++, qo += 32, si += 2, xi += 32) {
            FloatVector w0 = bytesToFloats(ByteVector.fromMemorySegment(B128, q, qo, LE));
            FloatVector w1 = bytesToFloats(ByteVector.fromMemorySegment(B128, q, qo + 16, LE));
            acc0 = w0.mul(FloatVector.fromArray(F, x, xi)).fma(bc(sc[si]), acc0);
            acc1 = w1.mul(FloatVector.fromArray(F, x, xi + 16)).fma(bc(sc[si + 1]), acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    int fusedVectors() {
        return 2;
    }

    /** Two vectors only, as {@link Q4KMatrix#dots} explains: each 16 weights are made once and meet both. */
    @Override
    void dots(long rowOffset, float[] x, int xOff, int count, float[] out) {
        MemorySegment q = quants;
        float[] sc = scales;
        int c = cols;
        long qo = quantOffset(rowOffset);
        int si = (int) (qo / GROUP);
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        int pairs = cols >> 5;
        int xi = xOff;
        for (int p = 0; p < pairs; p++, qo += 32, si += 2, xi += 32) {
            FloatVector w0 = bytesToFloats(ByteVector.fromMemorySegment(B128, q, qo, LE)).mul(sc[si]);
            FloatVector w1 = bytesToFloats(ByteVector.fromMemorySegment(B128, q, qo + 16, LE)).mul(sc[si + 1]);
            a0 = w0.fma(FloatVector.fromArray(F, x, xi), a0);
            b0 = w1.fma(FloatVector.fromArray(F, x, xi + 16), b0);
            a1 = w0.fma(FloatVector.fromArray(F, x, xi + c), a1);
            b1 = w1.fma(FloatVector.fromArray(F, x, xi + c + 16), b1);
        }
        out[0] = a0.add(b0).reduceLanes(VectorOperators.ADD);
        out[1] = a1.add(b1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        MemorySegment q = quants;
        float[] sc = scales;
        long qo = quantOffset(rowOffset);
        int si = (int) (qo / GROUP);
        int groups = cols >> 4;
        for (int g = 0; g < groups; g++, qo += 16, off += 16) {
            bytesToFloats(ByteVector.fromMemorySegment(B128, q, qo, LE)).mul(sc[si + g]).intoArray(out, off);
        }
    }
}
