package ai.armature.engine.tensor;

/**
 * Tensor element types as ggml numbers and lays them out: {@code blockSize} elements are stored in
 * {@code blockBytes} bytes. Armature computes with the types marked supported; the others can be read and
 * described (e.g. by {@code inspect}) but not multiplied.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 18, true),
    Q4_1(3, 32, 20, false),
    Q5_0(6, 32, 22, false),
    Q5_1(7, 32, 24, false),
    Q8_0(8, 32, 34, true),
    Q8_1(9, 32, 36, false),
    Q2_K(10, 256, 84, false),
    Q3_K(11, 256, 110, false),
    Q4_K(12, 256, 144, true),
    Q5_K(13, 256, 176, true),
    Q6_K(14, 256, 210, true),
    Q8_K(15, 256, 292, false),
    IQ2_XXS(16, 256, 66, false),
    IQ2_XS(17, 256, 74, false),
    IQ3_XXS(18, 256, 98, false),
    IQ1_S(19, 256, 50, false),
    IQ4_NL(20, 32, 18, false),
    IQ3_S(21, 256, 110, false),
    IQ2_S(22, 256, 82, false),
    IQ4_XS(23, 256, 136, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    IQ1_M(29, 256, 56, false),
    BF16(30, 1, 2, true);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final boolean supported;

    GgmlType(int id, int blockSize, int blockBytes, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.supported = supported;
    }

    /** The type with ggml's number {@code id}, or null if Armature does not know it. */
    public static GgmlType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    public int id() {
        return id;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockBytes() {
        return blockBytes;
    }

    /** Whether Armature's kernels compute with this type. */
    public boolean supported() {
        return supported;
    }

    /**
     * Bytes taken by {@code elements} elements; the count must be a whole number of blocks.
     *
     * @throws IllegalArgumentException if it is not
     */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements are not a whole number of " + name() + " blocks of " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }
}
