package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;

import java.util.Arrays;

/**
 * Where one tensor lives in a GGUF file and how it is laid out: its name, its dimensions in ggml order
 * ({@code dims[0]} is ne0, the innermost dimension, i.e. the length of a row), its element type, and the offset of
 * its first byte relative to the start of the data section of the file (or split part) that holds it. The dims
 * array is copied on the way in and out, so an info is immutable.
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset) {

    /** The most dimensions a ggml tensor has. */
    public static final int MAX_DIMS = 4;

    public GgufTensorInfo {
        if (name == null) throw new IllegalArgumentException("tensor name is null");
        if (type == null) throw new IllegalArgumentException("tensor '" + name + "' has no type");
        if (dims == null || dims.length == 0 || dims.length > MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' must have 1 to " + MAX_DIMS + " dimensions");
        }
        dims = dims.clone();
        long n = 1;
        for (long d : dims) {
            if (d <= 0) throw new IllegalArgumentException("tensor '" + name + "' has a dimension " + d + " (must be > 0)");
            n = Math.multiplyExact(n, d);
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' has rows of " + dims[0] + " elements, not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        type.bytesFor(n); // overflow check: throws ArithmeticException when the byte size does not fit a long
        if (offset < 0) throw new IllegalArgumentException("tensor '" + name + "' has a negative offset " + offset);
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of dimensions (1 to 4). */
    public int nDims() {
        return dims.length;
    }

    /** Size of dimension {@code i} in ggml order; 1 for dimensions beyond {@link #nDims()}, as in ggml. */
    public long dim(int i) {
        if (i < 0 || i >= MAX_DIMS) throw new IndexOutOfBoundsException("dimension " + i);
        return i < dims.length ? dims[i] : 1;
    }

    /** Total number of elements. */
    public long elementCount() {
        long n = 1;
        for (long d : dims) n *= d; // cannot overflow: checked in the constructor
        return n;
    }

    /** Bytes the tensor's data takes in the file (without alignment padding). */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    /** Shape as ggml prints it, e.g. {@code [4096, 32000]}. */
    public String shape() {
        return Arrays.toString(dims);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && Arrays.equals(t.dims, dims) && t.type == type && t.offset == offset;
    }

    @Override
    public int hashCode() {
        return ((name.hashCode() * 31 + Arrays.hashCode(dims)) * 31 + type.hashCode()) * 31 + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return "GgufTensorInfo[" + name + ", " + type + " " + shape() + " @" + offset + "]";
    }
}
