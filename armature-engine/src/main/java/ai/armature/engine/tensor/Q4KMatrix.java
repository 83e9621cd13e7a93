package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K weights: super-blocks of 256 elements (144 bytes): f16 {@code d}, f16 {@code dmin}, 12 bytes packing eight
 * 6-bit scales and eight 6-bit mins, then 128 bytes of nibbles. Each 64-element chunk j uses 32 bytes: low nibbles
 * are sub-block 2j, high nibbles sub-block 2j+1; element value {@code d * scale * q - dmin * min}.
 *
 * <p>Each super-block is handled by its own small method that reads the 16-byte header with three loads and
 * returns a float: C2 compiles it with its own inlining budget. Inlined into the row loop, the memory-segment
 * accessors exhaust that budget and the vector intrinsics fail, which boxes every vector (100x slower).
 */
final class Q4KMatrix extends BaseMatrix {
    private static final int BLOCK = 256;
    private static final int BYTES = 144;

    Q4KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    /**
     * The eight 6-bit scales, one per byte, from the 12 packed bytes (bytes 0..7 in {@code lo}, 8..11 in {@code hi}),
     * unpacked with whole-word bit operations as ggml's get_scale_min_k4 does per byte: scales 0-3 are the low 6
     * bits of bytes 0-3; scales 4-7 take their low 4 bits from bytes 8-11 and their top 2 bits from bytes 0-3.
     */
    static long scales(long lo, int hi) {
        long first = lo & 0x3F3F3F3FL;
        int second = (hi & 0x0F0F0F0F) | ((int) (lo >>> 2) & 0x30303030);
        return first | ((long) second << 32);
    }

    /** The eight 6-bit mins: bytes 4-7 low 6 bits; then high nibbles of bytes 8-11 with the top 2 bits of bytes 4-7. */
    static long mins(long lo, int hi) {
        long first = (lo >>> 32) & 0x3F3F3F3FL;
        int second = ((hi >>> 4) & 0x0F0F0F0F) | ((int) (lo >>> 34) & 0x30303030);
        return first | ((long) second << 32);
    }

    private static int byteAt(long packed, int i) {
        return (int) (packed >>> (8 * i)) & 0xFF;
    }

    @Override
    float dot(long rowOffset, float[] x, int xOff) {
        float sum = 0;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            sum += blockDot(data, rowOffset + (long) b * BYTES, x, xOff + b * BLOCK);
        }
        return sum;
    }

    private static float blockDot(MemorySegment s, long o, float[] x, int xi) {
        int dd = s.get(INT_LE, o);
        float d = Float.float16ToFloat((short) dd);
        float dmin = Float.float16ToFloat((short) (dd >>> 16));
        long lo = s.get(LONG_LE, o + 4);
        int hi = s.get(INT_LE, o + 12);
        long sc = scales(lo, hi);
        long mn = mins(lo, hi);
        FloatVector acc = FloatVector.zero(F);
        FloatVector accMin = acc;
        for (int j = 0; j < 4; j++) {
            long q = o + 16 + 32 * j;
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            int xj = xi + 64 * j;
            FloatVector x0 = FloatVector.fromArray(F, x, xj);
            FloatVector x1 = FloatVector.fromArray(F, x, xj + 16);
            FloatVector x2 = FloatVector.fromArray(F, x, xj + 32);
            FloatVector x3 = FloatVector.fromArray(F, x, xj + 48);
            FloatVector lo4 = bytesToFloats(vb.and((byte) 0x0F)).fma(x1, bytesToFloats(va.and((byte) 0x0F)).mul(x0));
            FloatVector hi4 = bytesToFloats(shrBytes(vb, 4).and((byte) 0x0F))
                    .fma(x3, bytesToFloats(shrBytes(va, 4).and((byte) 0x0F)).mul(x2));
            acc = lo4.fma(bc(d * byteAt(sc, 2 * j)), acc);
            acc = hi4.fma(bc(d * byteAt(sc, 2 * j + 1)), acc);
            accMin = x0.add(x1).fma(bc(dmin * byteAt(mn, 2 * j)), accMin);
            accMin = x2.add(x3).fma(bc(dmin * byteAt(mn, 2 * j + 1)), accMin);
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(long rowOffset, float[] out, int off) {
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            blockDequantize(data, rowOffset + (long) b * BYTES, out, off + b * BLOCK);
        }
    }

    private static void blockDequantize(MemorySegment s, long o, float[] out, int off) {
        int dd = s.get(INT_LE, o);
        float d = Float.float16ToFloat((short) dd);
        float dmin = Float.float16ToFloat((short) (dd >>> 16));
        long lo = s.get(LONG_LE, o + 4);
        int hi = s.get(INT_LE, o + 12);
        long sc = scales(lo, hi);
        long mn = mins(lo, hi);
        for (int j = 0; j < 4; j++) {
            FloatVector d0 = bc(d * byteAt(sc, 2 * j));
            FloatVector m0 = bc(-dmin * byteAt(mn, 2 * j));
            FloatVector d1 = bc(d * byteAt(sc, 2 * j + 1));
            FloatVector m1 = bc(-dmin * byteAt(mn, 2 * j + 1));
            long q = o + 16 + 32 * j;
            ByteVector va = ByteVector.fromMemorySegment(B128, s, q, LE);
            ByteVector vb = ByteVector.fromMemorySegment(B128, s, q + 16, LE);
            int oj = off + 64 * j;
            bytesToFloats(va.and((byte) 0x0F)).fma(d0, m0).intoArray(out, oj);
            bytesToFloats(vb.and((byte) 0x0F)).fma(d0, m0).intoArray(out, oj + 16);
            bytesToFloats(shrBytes(va, 4).and((byte) 0x0F)).fma(d1, m1).intoArray(out, oj + 32);
            bytesToFloats(shrBytes(vb, 4).and((byte) 0x0F)).fma(d1, m1).intoArray(out, oj + 48);
        }
    }
}
