package ai.armature.engine.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Paged key/value storage for every layer: {@code numBlocks} blocks of {@code blockSize} token slots, allocated
 * once off-heap. Token slot {@code s} lives in block {@code s / blockSize}; a sequence's block table maps its
 * positions to blocks. Inside a block, each KV head's slots are contiguous, so attention gathers a head's keys
 * for a block with one copy. Which blocks belong to whom is the block manager's business, not this class's.
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

    private long headOffset(int layer, int block, int kv, int head) {
        return ((((long) layer * numBlocks + block) * 2 + kv) * kvHeads + head) * headBytes;
    }

    /** Stores one token's keys and values ({@code kvHeads * headDim} each) of one layer into slot {@code slot}. */
    void write(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        int block = slot / blockSize;
        int inBlock = slot % blockSize;
        if (block < 0 || block >= numBlocks) throw new IllegalStateException("KV slot " + slot + " outside the cache");
        long within = (long) inBlock * headDim * dtype.bytes();
        for (int h = 0; h < kvHeads; h++) {
            writeRow(headOffset(layer, block, 0, h) + within, k, kOffset + h * headDim);
            writeRow(headOffset(layer, block, 1, h) + within, v, vOffset + h * headDim);
        }
    }

    private void writeRow(long offset, float[] src, int srcOffset) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, srcOffset, data, FLOAT, offset, headDim);
            case F16 -> {
                for (int i = 0; i < headDim; i++) data.set(SHORT, offset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
            }
            case BF16 -> {
                for (int i = 0; i < headDim; i++) data.set(SHORT, offset + 2L * i, toBf16(src[srcOffset + i]));
            }
        }
    }

    private static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16); // round to nearest even
    }

    /**
     * Copies head {@code head}'s keys ({@code kv = 0}) or values ({@code kv = 1}) of positions {@code [0, count)} of
     * a sequence into {@code out} as floats, {@code headDim} per position. {@code scratch} holds at least
     * {@code blockSize * headDim} shorts.
     */
    void gather(int layer, int kv, int head, int[] blockTable, int count, float[] out, short[] scratch) {
        int pos = 0;
        for (int b = 0; pos < count; b++) {
            int n = Math.min(blockSize, count - pos);
            long offset = headOffset(layer, blockTable[b], kv, head);
            int elements = n * headDim;
            int dst = pos * headDim;
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
            pos += n;
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
