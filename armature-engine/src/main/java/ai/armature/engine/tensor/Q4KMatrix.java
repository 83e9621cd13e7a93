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

    /** Byte i (0..11) of the packed scales, given bytes 0..7 as {@code lo} and 8..11 as {@code hi}. */
    private static int scaleByte(long lo, int hi, int i) {
        return (i < 8 ? (int) (lo >>> (8 * i)) : hi >>> (8 * (i - 8))) & 0xFF;
    }

    /** Sub-block j's 6-bit scale, as ggml's get_scale_min_k4 unpacks it. */
    private static int scale(long lo, int hi, int j) {
        return j < 4 ? scaleByte(lo, hi, j) & 63
                : (scaleByte(lo, hi, j + 4) & 0x0F) | ((scaleByte(lo, hi, j - 4) >> 6) << 4);
    }

    /** Sub-block j's 6-bit min. */
    private static int min(long lo, int hi, int j) {
        return j < 4 ? scaleByte(lo, hi, j + 4) & 63
                : (scaleByte(lo, hi, j + 4) >> 4) | ((scaleByte(lo, hi, j) >> 6) << 4);
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
            acc = lo4.fma(bc(d * scale(lo, hi, 2 * j)), acc);
            acc = hi4.fma(bc(d * scale(lo, hi, 2 * j + 1)), acc);
            accMin = x0.add(x1).fma(bc(dmin * min(lo, hi, 2 * j)), accMin);
            accMin = x2.add(x3).fma(bc(dmin * min(lo, hi, 2 * j + 1)), accMin);
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
        for (int j = 0; j < 4; j++) {
            FloatVector d0 = bc(d * scale(lo, hi, 2 * j));
            FloatVector m0 = bc(-dmin * min(lo, hi, 2 * j));
            FloatVector d1 = bc(d * scale(lo, hi, 2 * j + 1));
            FloatVector m1 = bc(-dmin * min(lo, hi, 2 * j + 1));
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
