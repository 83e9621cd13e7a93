package ai.armature.engine.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Paged key/value storage for every layer: {@code numBlocks} blocks of {@code blockSize} token slots, allocated
 * once off-heap. Token slot {@code s} lives in block {@code s / blockSize}; a sequence's block table maps its
 * positions to blocks. Inside a block, each KV head's data is one contiguous region, so attention gathers it with
 * one copy: values slot by slot ({@code headDim} per slot), keys dimension by dimension ({@code blockSize} per
 * dimension), because attention scores 16 positions at once with one vector load per dimension and no horizontal
 * sums. Which blocks belong to whom is the KV cache manager's business, not this class's.
 */
public final class KvCache implements AutoCloseable {

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Arena arena;
    private final MemorySegment data;
    private final int numBlocks;
    private final int blockSize;
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final KvDtype dtype;
    private final long headBytes;   // one head's slots in one block
    private final long halfBytes;   // all heads of K (or V) of one block of one layer

    public KvCache(ModelConfig config, int numBlocks, int blockSize, KvDtype dtype) {
        if (numBlocks <= 0 || blockSize <= 0) throw new IllegalArgumentException("KV cache needs blocks > 0 and block size > 0");
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.layers = config.layers();
        this.kvHeads = config.kvHeads();
        this.headDim = config.headDim();
        this.dtype = dtype;
        this.headBytes = (long) blockSize * headDim * dtype.bytes();
        this.halfBytes = headBytes * kvHeads;
        this.arena = Arena.ofShared();
        this.data = arena.allocate(bytesPerBlock(config, blockSize, dtype) * numBlocks, 64);
    }

    /** Bytes one block takes across all layers (keys and values). */
    public static long bytesPerBlock(ModelConfig config, int blockSize, KvDtype dtype) {
        return 2L * config.layers() * config.kvDim() * blockSize * dtype.bytes();
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public KvDtype dtype() {
        return dtype;
    }

    public long byteSize() {
        return data.byteSize();
    }

    public int layers() {
        return layers;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    /** Bytes of one block over every layer, keys and values: what {@link #copyBlockOut} writes. */
    public long blockBytes() {
        return 2 * halfBytes * layers;
    }

    /**
     * Copies block {@code block}'s K and V of every layer to {@code dst} at {@code offset}, {@link #blockBytes()}
     * bytes: layer after layer, each layer's keys then values exactly as stored (see the class comment). Safe from
     * any thread while no forward pass writes this block.
     */
    public void copyBlockOut(int block, MemorySegment dst, long offset) {
        java.util.Objects.checkIndex(block, numBlocks);
        long layerBytes = 2 * halfBytes;
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(data, headOffset(l, block, 0, 0), dst, offset + l * layerBytes, layerBytes);
        }
    }

    /** The inverse of {@link #copyBlockOut}: overwrites block {@code block} with bytes laid out as it writes them. */
    public void copyBlockIn(MemorySegment src, long offset, int block) {
        java.util.Objects.checkIndex(block, numBlocks);
        long layerBytes = 2 * halfBytes;
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(src, offset + l * layerBytes, data, headOffset(l, block, 0, 0), layerBytes);
        }
    }

    private long headOffset(int layer, int block, int kv, int head) {
        return ((((long) layer * numBlocks + block) * 2 + kv) * kvHeads + head) * headBytes;
    }

    /** Stores one token's keys and values ({@code kvHeads * headDim} each) of one layer into slot {@code slot}. */
    void write(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        int block = slot / blockSize;
        int inBlock = slot % blockSize;
        if (block < 0 || block >= numBlocks) throw new IllegalStateException("KV slot " + slot + " outside the cache");
        int bytes = dtype.bytes();
        for (int h = 0; h < kvHeads; h++) {
            // Keys: dimension d of this slot at d * blockSize + inBlock.
            write(headOffset(layer, block, 0, h) + (long) inBlock * bytes, (long) blockSize * bytes, k, kOffset + h * headDim);
            // Values: this slot's headDim values together.
            write(headOffset(layer, block, 1, h) + (long) inBlock * headDim * bytes, bytes, v, vOffset + h * headDim);
        }
    }

    /** Writes {@code headDim} floats from {@code src} to {@code offset}, {@code stride} bytes apart. */
    private void write(long offset, long stride, float[] src, int srcOffset) {
        for (int i = 0; i < headDim; i++) {
            long at = offset + i * stride;
            float f = src[srcOffset + i];
            switch (dtype) {
                case F32 -> data.set(FLOAT, at, f);
                case F16 -> data.set(SHORT, at, Float.floatToFloat16(f));
                case BF16 -> data.set(SHORT, at, toBf16(f));
            }
        }
    }

    private static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16); // round to nearest even
    }

    /**
     * Copies head {@code head}'s keys of the blocks holding positions {@code [0, count)} of a sequence into
     * {@code out} as floats, block after block, each block dimension-major: the key of position {@code b *
     * blockSize + t} in dimension {@code d} lands at {@code (b * headDim + d) * blockSize + t}. Whole blocks are
     * copied; slots past {@code count} hold whatever was stored there last. {@code scratch} holds at least
     * {@code blockSize * headDim} shorts.
     */
    void gatherKeys(int layer, int head, int[] blockTable, int count, float[] out, short[] scratch) {
        gatherKeys(layer, head, blockTable, 0, (count + blockSize - 1) / blockSize, out, scratch);
    }

    /** As {@link #gatherKeys(int, int, int[], int, float[], short[])} for the {@code blocks} blocks from table entry {@code first}. */
    void gatherKeys(int layer, int head, int[] blockTable, int first, int blocks, float[] out, short[] scratch) {
        int region = blockSize * headDim;
        for (int b = 0; b < blocks; b++) {
            copyRegion(headOffset(layer, blockTable[first + b], 0, head), region, out, b * region, scratch);
        }
    }

    /** Values of positions {@code [from, from + count)} ({@code from} a multiple of the block size), as {@link #gatherValues}. */
    void gatherValueRange(int layer, int head, int[] blockTable, int from, int count, float[] out, short[] scratch) {
        for (int b = from / blockSize, pos = 0; pos < count; b++) {
            int n = Math.min(blockSize, count - pos);
            copyRegion(headOffset(layer, blockTable[b], 1, head), n * headDim, out, pos * headDim, scratch);
            pos += n;
        }
    }

    /**
     * Copies head {@code head}'s values of positions {@code [0, count)} of a sequence into {@code out} as floats,
     * {@code headDim} per position. {@code scratch} holds at least {@code blockSize * headDim} shorts.
     */
    void gatherValues(int layer, int head, int[] blockTable, int count, float[] out, short[] scratch) {
        for (int b = 0, pos = 0; pos < count; b++) {
            int n = Math.min(blockSize, count - pos);
            copyRegion(headOffset(layer, blockTable[b], 1, head), n * headDim, out, pos * headDim, scratch);
            pos += n;
        }
    }

    private void copyRegion(long offset, int elements, float[] out, int dst, short[] scratch) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, FLOAT, offset, out, dst, elements);
            case F16 -> {
                MemorySegment.copy(data, SHORT, offset, scratch, 0, elements);
                for (int i = 0; i < elements; i++) out[dst + i] = Float.float16ToFloat(scratch[i]);
            }
            case BF16 -> {
                MemorySegment.copy(data, SHORT, offset, scratch, 0, elements);
                for (int i = 0; i < elements; i++) out[dst + i] = Float.intBitsToFloat(scratch[i] << 16);
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
