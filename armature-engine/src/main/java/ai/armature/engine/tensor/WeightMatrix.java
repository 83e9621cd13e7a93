package ai.armature.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight tensor of {@code rows x cols} elements stored row by row in a supported {@link GgmlType} (ggml's
 * ne0 is {@code cols}, ne1 is {@code rows}), backed by a {@link MemorySegment} that is usually a mapped file.
 * Products run on all cores (see {@link Parallel}) and are safe to call from one thread at a time per output.
 *
 * <p>Some types prepare their data when a matrix is made, so making one reads the whole tensor and takes extra
 * memory ({@link #repackedBytes} off-heap, {@link #decodedHeapBytes} on the heap): Q8_0, Q4_0, Q4_K and Q5_K are
 * repacked into a row-interleaved copy of about the tensor's size for the decode kernels, which multiply with
 * activations quantized to int8 per 32 elements (as ggml's integer kernels do); Q6_K into one of a byte per weight;
 * Q4_K and Q5_K also decode their block scales onto the heap for the prompt (tiled) kernels, which read the mapped
 * file. F32, F16 and BF16 only read the segment.
 */
public interface WeightMatrix {

    GgmlType type();

    int rows();

    int cols();

    /** The raw stored bytes (rows * bytes per row). */
    MemorySegment data();

    /** {@code y[yOffset + r] = dot(row r, x[xOffset .. xOffset + cols))} for every row r. */
    void matvec(float[] x, int xOffset, float[] y, int yOffset);

    /**
     * The product with {@code n} vectors: {@code x} holds them one after another ({@code x[i * cols + k]}), and
     * {@code y[i * rows + r] = dot(row r, x_i)}. Reads each weight block once for a whole tile of vectors, not once
     * per vector, so it is much faster than n calls of {@link #matvec}.
     */
    void matmul(float[] x, float[] y, int n);

    /**
     * The products of several matrices of one width with the same {@code n} vectors: {@code ys[i]} receives what
     * {@code matrices[i].matmul(x, ys[i], n)} computes, through the same kernels. Where the matrices' int8 kernels take {@code n} vectors
     * (Q8_0, Q4_0 and the K-quants at decode batch sizes, whatever mix of those types) the input is quantized once
     * and all their rows go to the pool in one hand-off instead of one per matrix; the rest run their own matmul.
     * Outputs must not overlap {@code x} or each other.
     *
     * @throws IllegalArgumentException if the widths differ, there is not one output per matrix, or a buffer is short
     */
    static void matmulSharedInput(float[] x, int n, WeightMatrix[] matrices, float[][] ys) {
        BaseMatrix.matmulSharedInput(x, n, matrices, ys);
    }

    /** Writes row {@code row} as floats into {@code out[offset .. offset + cols)}. */
    void dequantizeRow(int row, float[] out, int offset);

    /**
     * A matrix over {@code data}, which must hold exactly {@code rows * type.bytesFor(cols)} bytes and be readable
     * from any thread (a mapped file or a global, automatic or shared arena; products run on the pool's threads).
     * Quantized types need {@code cols} to be a multiple of their block size (32 for Q8_0/Q4_0, 256 for Q4_K/Q5_K/Q6_K).
     *
     * @throws IllegalArgumentException if the sizes do not match
     * @throws UnsupportedOperationException if Armature has no kernels for {@code type}
     */
    static WeightMatrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        return Kernels.matrix(type, data, rows, cols);
    }

    /**
     * Bytes of Java heap that {@link #of} keeps for a matrix of {@code elements} weights of {@code type} beyond its
     * segment: the decoded scales of Q4_K and Q5_K (d*scale and -dmin*min per 32 weights; Q5_K also a 32-bit mask of
     * fifth bits per 32); 0 for the other types. Loaders check the sum against the heap before building a model.
     */
    static long decodedHeapBytes(GgmlType type, long elements) {
        return decodedHeap(type, elements);
    }

    /**
     * Bytes of off-heap memory that {@link #of} allocates for a {@code rows x cols} matrix of {@code type} beyond its
     * segment: the interleaved copy of Q8_0 (34 bytes per 32 weights, as the file), Q4_0 (18 per 32, as the file),
     * Q4_K (4864 per 8192 weights, 6% over the file's 4608), Q5_K (6400 per 8192, 13.6% over 5632) and Q6_K (8832 per
     * 8192, 31% over 6720), rows rounded up to groups of 32; 0 for the other types. These copies lie on huge pages
     * where the system grants them. Loaders check the sum against the free memory.
     */
    static long repackedBytes(GgmlType type, long rows, long cols) {
        long groups = (rows + Interleaved.ROWS - 1) / Interleaved.ROWS;
        return switch (type) {
            case Q4_0 -> groups * (cols / 32) * (8 * 64 + 2 * Interleaved.ROWS);
            case Q4_K -> groups * (cols / 256) * Q4KMatrix.GROUP_SUPER;
            case Q5_K -> groups * (cols / 256) * Q5KMatrix.GROUP_SUPER;
            case Q6_K -> groups * (cols / 256) * Q6KMatrix.GROUP_SUPER;
            case Q8_0 -> groups * (cols / 32) * Q8_0Matrix.GROUP_BLOCK;
            default -> 0;
        };
    }

    private static long decodedHeap(GgmlType type, long elements) {
        return switch (type) {
            case Q4_K -> elements / 32 * 2 * Float.BYTES;
            case Q5_K -> elements / 32 * (2 * Float.BYTES + Integer.BYTES);
            default -> 0;
        };
    }
}
