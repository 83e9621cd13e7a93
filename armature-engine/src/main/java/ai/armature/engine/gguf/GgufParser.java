package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the header, metadata and tensor infos of one mapped GGUF file and validates them against the file's size.
 * Nothing is allocated from a count or length read from the file until that count has been checked against the
 * bytes left, so a corrupt or hostile file fails with a {@link GgufFormatException} instead of exhausting memory.
 */
final class GgufParser {

    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    static final int DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";
    /** Deeper nesting than this is certainly corruption, and recursion must stay bounded. */
    static final int MAX_ARRAY_NESTING = 32;
    /** Smallest possible metadata entry: empty key (8), type (4), one-byte value. */
    private static final long MIN_KV_BYTES = 8 + 4 + 1;
    /** Smallest possible tensor info: empty name (8), n_dims (4), one dim (8), type (4), offset (8). */
    private static final long MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

    /** One parsed file: for a split model, one part. */
    record Part(Path path, MemorySegment file, int version, GgufMetadata metadata, List<GgufTensorInfo> tensors,
                int alignment, long dataOffset) {
    }

    private final GgufCursor in;
    private final Path path;

    private GgufParser(Path path, MemorySegment file) {
        this.path = path;
        this.in = new GgufCursor(path, file);
    }

    static Part parse(Path path, MemorySegment file) {
        return new GgufParser(path, file).parse(file);
    }

    private Part parse(MemorySegment file) {
        int version = header();
        long tensorCountAt = in.position();
        long tensorCount = in.u64();
        long kvCountAt = in.position();
        long kvCount = in.u64();
        int kvs = in.checkCount(kvCount, kvCountAt, MIN_KV_BYTES, "metadata entries");
        int tensors = in.checkCount(tensorCount, tensorCountAt, MIN_TENSOR_INFO_BYTES, "tensors");
        if ((long) kvs * MIN_KV_BYTES + (long) tensors * MIN_TENSOR_INFO_BYTES > in.remaining()) {
            throw in.error("truncated or corrupt: " + kvs + " metadata entries and " + tensors + " tensors cannot fit in the "
                    + in.remaining() + " bytes left after the header");
        }
        GgufMetadata metadata = metadata(kvs);
        int alignment = alignment(metadata);
        List<GgufTensorInfo> infos = tensorInfos(tensors);
        long dataOffset = alignUp(in.position(), alignment);
        checkPlacement(infos, alignment, dataOffset, in.size());
        return new Part(path, file, version, metadata, List.copyOf(infos), alignment, dataOffset);
    }

    private int header() {
        long size = in.size();
        byte[] magic = new byte[(int) Math.min(4, size)];
        in.bytes(magic);
        if (!isMagicPrefix(magic)) {
            throw in.error("not a GGUF file (it starts with " + hex(magic) + ", a GGUF file starts with 'GGUF')");
        }
        if (magic.length < 4) throw in.error("truncated: the file is only " + size + " bytes long");
        int version = in.u32();
        if (version == 1) {
            throw in.error("GGUF version 1 is not supported (only versions 2 and 3); convert the file again with a current llama.cpp");
        }
        if (version != 2 && version != 3) {
            if (version != 0 && (version & 0xFFFF) == 0) {
                throw in.error("big-endian GGUF files are not supported (version field reads 0x" + Integer.toHexString(version) + ")");
            }
            throw in.error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (only versions 2 and 3 are supported)");
        }
        return version;
    }

    private static boolean isMagicPrefix(byte[] magic) {
        byte[] expected = {'G', 'G', 'U', 'F'};
        for (int i = 0; i < magic.length; i++) if (magic[i] != expected[i]) return false;
        return true;
    }

    private static String hex(byte[] bytes) {
        if (bytes.length == 0) return "nothing (the file is empty)";
        StringBuilder sb = new StringBuilder("0x");
        for (byte b : bytes) sb.append(String.format("%02x", b & 0xFF));
        return sb.toString();
    }

    private GgufMetadata metadata(int count) {
        Map<String, GgufValue> values = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            in.context("the key of metadata entry #" + i);
            String key = in.string();
            in.context("metadata key '" + key + "'");
            long typeAt = in.position();
            int typeId = in.u32();
            GgufValueType type = GgufValueType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw in.error("metadata key '" + key + "' has unknown value type " + Integer.toUnsignedString(typeId) + " at offset " + typeAt);
            }
            GgufValue value = new GgufValue(type, value(type, 0));
            if (values.putIfAbsent(key, value) != null) throw in.error("duplicate metadata key '" + key + "'");
        }
        return new GgufMetadata(values);
    }

    private Object value(GgufValueType type, int depth) {
        return switch (type) {
            case UINT8, INT8 -> in.u8();
            case UINT16, INT16 -> in.u16();
            case UINT32, INT32 -> in.u32();
            case UINT64, INT64 -> in.u64();
            case FLOAT32 -> in.f32();
            case FLOAT64 -> in.f64();
            case BOOL -> in.bool();
            case STRING -> in.string();
            case ARRAY -> array(depth + 1);
        };
    }

    private GgufArray array(int depth) {
        if (depth > MAX_ARRAY_NESTING) throw in.error("arrays nested more than " + MAX_ARRAY_NESTING + " deep");
        long typeAt = in.position();
        int typeId = in.u32();
        GgufValueType type = GgufValueType.byId(Integer.toUnsignedLong(typeId));
        if (type == null) {
            throw in.error("an array in " + in.context() + " has unknown element type " + Integer.toUnsignedString(typeId) + " at offset " + typeAt);
        }
        long countAt = in.position();
        int n = in.checkCount(in.u64(), countAt, minBytes(type), "array elements");
        Object elements = switch (type) {
            case UINT8, INT8 -> { byte[] a = new byte[n]; in.bytes(a); yield a; }
            case UINT16, INT16 -> { short[] a = new short[n]; in.shorts(a); yield a; }
            case UINT32, INT32 -> { int[] a = new int[n]; in.ints(a); yield a; }
            case UINT64, INT64 -> { long[] a = new long[n]; in.longs(a); yield a; }
            case FLOAT32 -> { float[] a = new float[n]; in.floats(a); yield a; }
            case FLOAT64 -> { double[] a = new double[n]; in.doubles(a); yield a; }
            case BOOL -> { boolean[] a = new boolean[n]; for (int i = 0; i < n; i++) a[i] = in.bool(); yield a; }
            case STRING -> { String[] a = new String[n]; for (int i = 0; i < n; i++) a[i] = in.string(); yield a; }
            case ARRAY -> { GgufArray[] a = new GgufArray[n]; for (int i = 0; i < n; i++) a[i] = array(depth + 1); yield a; }
        };
        return new GgufArray(type, elements);
    }

    /** The fewest bytes a value of this type takes in the file. */
    static long minBytes(GgufValueType type) {
        return switch (type) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64, STRING -> 8; // a string is at least its 8-byte length
            case ARRAY -> 12; // element type and count
        };
    }

    private int alignment(GgufMetadata metadata) {
        GgufValue v = metadata.get(ALIGNMENT_KEY);
        if (v == null) return DEFAULT_ALIGNMENT;
        long a;
        try {
            a = metadata.getLong(ALIGNMENT_KEY, DEFAULT_ALIGNMENT);
        } catch (GgufFormatException e) {
            throw in.error(e.getMessage());
        }
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw in.error("'" + ALIGNMENT_KEY + "' is " + a + ", it must be a power of two (at most 2^30)");
        }
        return (int) a;
    }

    private List<GgufTensorInfo> tensorInfos(int count) {
        List<GgufTensorInfo> infos = new ArrayList<>(Math.min(count, 4096));
        Set<String> names = new HashSet<>();
        for (int i = 0; i < count; i++) {
            in.context("the name of tensor info #" + i);
            String name = in.string();
            in.context("the info of tensor '" + name + "'");
            int nDims = in.u32();
            if (nDims < 1 || nDims > GgufTensorInfo.MAX_DIMS) {
                throw in.error("tensor '" + name + "' has " + Integer.toUnsignedString(nDims) + " dimensions (must be 1 to " + GgufTensorInfo.MAX_DIMS + ")");
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.u64();
                if (dims[d] <= 0) {
                    throw in.error("tensor '" + name + "' has dimension " + d + " = " + Long.toUnsignedString(dims[d]) + " (must be > 0)");
                }
                if (elements > Long.MAX_VALUE / dims[d]) throw in.error("tensor '" + name + "' has an absurd number of elements");
                elements *= dims[d];
            }
            int typeId = in.u32();
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) throw in.error("tensor '" + name + "' has unknown type " + Integer.toUnsignedString(typeId));
            if (dims[0] % type.blockSize() != 0) {
                throw in.error("tensor '" + name + "' has rows of " + dims[0] + " elements, not a multiple of the "
                        + type + " block size " + type.blockSize());
            }
            if (elements / type.blockSize() > Long.MAX_VALUE / type.blockBytes()) {
                throw in.error("tensor '" + name + "' has an absurd size");
            }
            long offset = in.u64();
            if (offset < 0) throw in.error("tensor '" + name + "' has an absurd offset " + Long.toUnsignedString(offset));
            if (!names.add(name)) throw in.error("duplicate tensor name '" + name + "'");
            infos.add(new GgufTensorInfo(name, dims, type, offset));
        }
        in.context("the data section");
        return infos;
    }

    /** Every tensor must be aligned, lie within the file, and not overlap another. */
    private void checkPlacement(List<GgufTensorInfo> infos, int alignment, long dataOffset, long fileSize) {
        long available = Math.max(0, fileSize - dataOffset);
        for (GgufTensorInfo t : infos) {
            if (t.offset() % alignment != 0) {
                throw in.error("tensor '" + t.name() + "' has offset " + t.offset() + ", not a multiple of the alignment " + alignment);
            }
            long bytes = t.byteSize();
            if (t.offset() > available || bytes > available - t.offset()) {
                throw in.error("tensor '" + t.name() + "' (" + bytes + " bytes at data offset " + t.offset()
                        + ") extends past the end of the file: the data section holds " + available
                        + " bytes (the file is truncated or corrupt)");
            }
        }
        List<GgufTensorInfo> byOffset = new ArrayList<>(infos);
        byOffset.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        for (int i = 1; i < byOffset.size(); i++) {
            GgufTensorInfo prev = byOffset.get(i - 1), cur = byOffset.get(i);
            if (cur.offset() < prev.offset() + prev.byteSize()) {
                throw in.error("tensors '" + prev.name() + "' and '" + cur.name() + "' overlap in the data section");
            }
        }
    }

    static long alignUp(long offset, long alignment) {
        long rem = offset % alignment;
        return rem == 0 ? offset : offset + (alignment - rem);
    }
}
