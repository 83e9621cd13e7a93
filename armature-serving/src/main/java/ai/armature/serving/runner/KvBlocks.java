package ai.armature.serving.runner;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * The K and V of a list of KV blocks, every layer, as one runner exported them: {@code count} blocks of
 * {@code layout.blockBytes()} bytes each, back to back in {@code data}, in the order of the block ids asked for.
 * {@link #encode()} gives the bytes to send to another worker; {@link #decode} refuses anything truncated,
 * corrupted (CRC32C) or not a payload, and {@link ModelRunner#importBlocks} refuses another layout.
 *
 * <p>Encoding: magic {@code "ARMKVB01"}, the layout ({@link KvLayout#writeTo}), the block count (int), the data,
 * then the CRC32C of everything before it (int). Big-endian header fields.
 */
public record KvBlocks(KvLayout layout, int count, MemorySegment data) {

    private static final long MAGIC = 0x41524D4B56423031L; // "ARMKVB01"

    public KvBlocks {
        Objects.requireNonNull(layout, "layout");
        if (count < 0) throw new IllegalArgumentException("negative block count " + count);
        if (data.byteSize() != count * layout.blockBytes()) {
            throw new IllegalArgumentException(count + " blocks of " + layout.blockBytes() + " bytes need "
                    + count * layout.blockBytes() + " bytes, the data has " + data.byteSize());
        }
    }

    /** The serialized payload (see the class comment): one array, the data copied into it once. */
    public byte[] encode() {
        try {
            ByteArrayOutputStream header = new ByteArrayOutputStream(128);
            DataOutputStream out = new DataOutputStream(header);
            out.writeLong(MAGIC);
            layout.writeTo(out);
            out.writeInt(count);
            out.flush();
            int h = header.size();
            long size = h + data.byteSize() + 4;
            if (size > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("a KV payload of " + size + " bytes is too large: send fewer blocks at once");
            byte[] all = new byte[(int) size];
            System.arraycopy(header.toByteArray(), 0, all, 0, h);
            MemorySegment.copy(data, 0, MemorySegment.ofArray(all), h, data.byteSize());
            CRC32C crc = new CRC32C();
            crc.update(all, 0, all.length - 4);
            int c = (int) crc.getValue();
            for (int i = 0; i < 4; i++) all[all.length - 4 + i] = (byte) (c >>> (24 - 8 * i));
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a payload written by {@link #encode()}, without copying its data (the blocks are a view of {@code bytes});
     * IllegalArgumentException saying what is wrong with it otherwise.
     */
    public static KvBlocks decode(byte[] bytes) {
        if (bytes.length < 12) throw new IllegalArgumentException("not a KV block payload: " + bytes.length + " bytes");
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        int stored = ((bytes[bytes.length - 4] & 0xFF) << 24) | ((bytes[bytes.length - 3] & 0xFF) << 16)
                | ((bytes[bytes.length - 2] & 0xFF) << 8) | (bytes[bytes.length - 1] & 0xFF);
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 4));
            if (in.readLong() != MAGIC) throw new IllegalArgumentException("not a KV block payload (bad magic)");
            if ((int) crc.getValue() != stored) throw new IllegalArgumentException("the KV block payload is corrupt (checksum mismatch)");
            KvLayout layout = KvLayout.readFrom(in);
            int count = in.readInt();
            long expected = count * layout.blockBytes();
            if (count < 0 || in.available() != expected) {
                throw new IllegalArgumentException("the KV block payload is truncated: " + count + " blocks need " + expected
                        + " bytes, it holds " + in.available());
            }
            // The data stays where it is: a view of the payload's bytes, which the caller must not change afterwards.
            long offset = bytes.length - 4 - expected;
            return new KvBlocks(layout, count, MemorySegment.ofArray(bytes).asSlice(offset, expected));
        } catch (IOException e) {
            throw new IllegalArgumentException("the KV block payload is truncated", e);
        }
    }
}
