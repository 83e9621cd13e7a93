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

    /** The serialized payload (see the class comment). */
    public byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 64, data.byteSize() + 256));
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeLong(MAGIC);
            layout.writeTo(out);
            out.writeInt(count);
            out.flush();
            bytes.write(data.toArray(ValueLayout.JAVA_BYTE));
            CRC32C crc = new CRC32C();
            byte[] body = bytes.toByteArray();
            crc.update(body);
            byte[] all = java.util.Arrays.copyOf(body, body.length + 4);
            int c = (int) crc.getValue();
            for (int i = 0; i < 4; i++) all[body.length + i] = (byte) (c >>> (24 - 8 * i));
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a payload written by {@link #encode()}; IllegalArgumentException saying what is wrong with it otherwise. */
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
            byte[] data = new byte[(int) expected];
            in.readFully(data);
            return new KvBlocks(layout, count, MemorySegment.ofArray(data));
        } catch (IOException e) {
            throw new IllegalArgumentException("the KV block payload is truncated", e);
        }
    }
}
