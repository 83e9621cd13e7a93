package ai.armature.serving.runner;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Objects;

/**
 * How a runner lays out one KV block's K and V in bytes: what {@link ModelRunner#exportBlock} writes and
 * {@link ModelRunner#importBlock} accepts. Two runners may exchange blocks only if their layouts are equal: the
 * same model (its name also salts the block hashes), byte format, element type, tokens per block and shape.
 * Every payload and every block file names the layout it was written in, so a mismatch is refused instead of
 * misread.
 *
 * @param model      the model's name (as in {@link ModelRunner#modelName()})
 * @param format     the byte order of a block, e.g. {@code armature-paged-v1}
 * @param dtype      the element type of K and V ({@code f16}, {@code bf16}, {@code f32}; {@code none} for a
 *                   simulated runner)
 * @param blockSize  tokens per block
 * @param layers     transformer layers (0 when simulated)
 * @param kvHeads    KV heads per layer (0 when simulated)
 * @param headDim    elements per head (0 when simulated)
 * @param blockBytes bytes of one block
 */
public record KvLayout(String model, String format, String dtype, int blockSize, int layers, int kvHeads, int headDim, long blockBytes) {

    public KvLayout {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(dtype, "dtype");
        if (blockSize < 1 || blockBytes < 1 || layers < 0 || kvHeads < 0 || headDim < 0) {
            throw new IllegalArgumentException("invalid KV layout: " + describe(blockSize, layers, kvHeads, headDim, blockBytes));
        }
    }

    /** Throws IllegalArgumentException naming both layouts unless {@code other} equals this one. */
    public void requireSame(KvLayout other, String what) {
        if (!equals(other)) {
            throw new IllegalArgumentException(what + " has KV layout " + other + " but this worker's is " + this
                    + ": blocks can move only between workers of the same model, KV type and block size");
        }
    }

    public void writeTo(DataOutput out) throws IOException {
        out.writeUTF(model);
        out.writeUTF(format);
        out.writeUTF(dtype);
        out.writeInt(blockSize);
        out.writeInt(layers);
        out.writeInt(kvHeads);
        out.writeInt(headDim);
        out.writeLong(blockBytes);
    }

    /** Reads a layout written by {@link #writeTo}; IllegalArgumentException if the values are invalid. */
    public static KvLayout readFrom(DataInput in) throws IOException {
        return new KvLayout(in.readUTF(), in.readUTF(), in.readUTF(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readLong());
    }

    @Override
    public String toString() {
        return "[" + model + ", " + format + ", " + dtype + ", " + describe(blockSize, layers, kvHeads, headDim, blockBytes) + "]";
    }

    private static String describe(int blockSize, int layers, int kvHeads, int headDim, long blockBytes) {
        return blockSize + " tokens per block, " + layers + " layers x " + kvHeads + " KV heads x " + headDim + ", " + blockBytes + " bytes per block";
    }
}
