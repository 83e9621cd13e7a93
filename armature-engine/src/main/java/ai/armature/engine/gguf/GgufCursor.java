package ai.armature.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A bounds-checked little-endian reader over a mapped GGUF file. Every read first checks that its bytes lie
 * within the file, so a malformed file ends in a {@link GgufFormatException} that names the file, the offset and
 * what was being read, never in an out-of-bounds error. Lengths read from the file are checked against the bytes
 * left before anything is allocated for them.
 */
final class GgufCursor {

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Java arrays hold at most about this many elements. */
    private static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    private final Path path;
    private final MemorySegment file;
    private final long size;
    private long pos;
    /** What is being read, for error messages, e.g. "the value of key 'general.name'". */
    private String context = "the header";

    GgufCursor(Path path, MemorySegment file) {
        this.path = path;
        this.file = file;
        this.size = file.byteSize();
    }

    long position() {
        return pos;
    }

    long size() {
        return size;
    }

    long remaining() {
        return size - pos;
    }

    String context() {
        return context;
    }

    void context(String context) {
        this.context = context;
    }

    /** A format error prefixed with the file's path. */
    GgufFormatException error(String message) {
        return new GgufFormatException(path + ": " + message);
    }

    private void need(long bytes) {
        if (bytes > size - pos) {
            throw error("truncated: " + context + " needs " + bytes + " bytes at offset " + pos + " but the file ends at " + size);
        }
    }

    byte u8() {
        need(1);
        return file.get(ValueLayout.JAVA_BYTE, pos++);
    }

    short u16() {
        need(2);
        short v = file.get(U16, pos);
        pos += 2;
        return v;
    }

    int u32() {
        need(4);
        int v = file.get(U32, pos);
        pos += 4;
        return v;
    }

    long u64() {
        need(8);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    float f32() {
        return Float.intBitsToFloat(u32());
    }

    double f64() {
        return Double.longBitsToDouble(u64());
    }

    boolean bool() {
        long at = pos;
        byte b = u8();
        if (b != 0 && b != 1) throw error("invalid boolean " + (b & 0xFF) + " at offset " + at + " in " + context + " (must be 0 or 1)");
        return b == 1;
    }

    /**
     * Checks that {@code count} items of at least {@code minBytesEach} bytes can still follow, and that they fit a
     * Java array; returns the count as an int. {@code count} is an unsigned 64-bit number read at offset {@code at}.
     */
    int checkCount(long count, long at, long minBytesEach, String what) {
        long left = remaining();
        if (count < 0 || count > MAX_JAVA_ARRAY || (minBytesEach > 0 && count > left / minBytesEach)) {
            throw error("truncated or absurd count: " + context + " declares " + Long.toUnsignedString(count) + " " + what
                    + " at offset " + at + " (at least " + minBytesEach + " bytes each) but only " + left + " bytes are left in the file");
        }
        return (int) count;
    }

    String string() {
        long at = pos;
        long length = u64();
        if (length < 0 || length > remaining() || length > MAX_JAVA_ARRAY) {
            throw error("truncated or absurd length: " + context + " has a string of length " + Long.toUnsignedString(length)
                    + " at offset " + at + " (" + remaining() + " bytes are left in the file)");
        }
        if (length == 0) return ""; // shared: many empty strings must not cost an object each
        byte[] bytes = new byte[(int) length];
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
        pos += length;
        // GGUF strings are UTF-8; a malformed sequence becomes U+FFFD rather than making the file unreadable.
        return new String(bytes, StandardCharsets.UTF_8);
    }

    void bytes(byte[] into) {
        need(into.length);
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, pos, into, 0, into.length);
        pos += into.length;
    }

    void shorts(short[] into) {
        need(2L * into.length);
        MemorySegment.copy(file, U16, pos, into, 0, into.length);
        pos += 2L * into.length;
    }

    void ints(int[] into) {
        need(4L * into.length);
        MemorySegment.copy(file, U32, pos, into, 0, into.length);
        pos += 4L * into.length;
    }

    void longs(long[] into) {
        need(8L * into.length);
        MemorySegment.copy(file, U64, pos, into, 0, into.length);
        pos += 8L * into.length;
    }

    void floats(float[] into) {
        need(4L * into.length);
        MemorySegment.copy(file, F32, pos, into, 0, into.length);
        pos += 4L * into.length;
    }

    void doubles(double[] into) {
        need(8L * into.length);
        MemorySegment.copy(file, F64, pos, into, 0, into.length);
        pos += 8L * into.length;
    }
}
