package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a GGUF version 3 file: metadata of every type (nested arrays included) and tensors, laid out with the
 * alignment of {@code general.alignment} (default 32) and padded as llama.cpp pads them. Tensor data is pulled
 * from each tensor's source only while that tensor is written, so a large model never has to be in the heap at
 * once. The file is written under a temporary name next to the target and renamed when complete, so a failed
 * write leaves no half file. Reading back what was written gives the same metadata (types included), tensor infos
 * and bytes.
 */
public final class GgufWriter {

    /** Produces one tensor's bytes, in ggml layout, when the writer reaches it; it must write exactly the tensor's size. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(OutputStream out) throws IOException;
    }

    private record PendingTensor(String name, long[] dims, GgmlType type, long byteSize, TensorSource source) {
    }

    private static final int CHUNK = 1 << 16;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Map<String, Integer> tensorNames = new LinkedHashMap<>();

    /** Sets {@code key} to {@code value} (replacing an earlier value but keeping its position). */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        checkValue(key, value.type(), value.value(), 0);
        if (key.equals(GgufParser.ALIGNMENT_KEY)) checkAlignment(value);
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putUint8(String key, byte v) { return put(key, new GgufValue(GgufValueType.UINT8, v)); }
    public GgufWriter putInt8(String key, byte v) { return put(key, new GgufValue(GgufValueType.INT8, v)); }
    public GgufWriter putUint16(String key, short v) { return put(key, new GgufValue(GgufValueType.UINT16, v)); }
    public GgufWriter putInt16(String key, short v) { return put(key, new GgufValue(GgufValueType.INT16, v)); }
    public GgufWriter putUint32(String key, int v) { return put(key, new GgufValue(GgufValueType.UINT32, v)); }
    public GgufWriter putInt32(String key, int v) { return put(key, new GgufValue(GgufValueType.INT32, v)); }
    public GgufWriter putUint64(String key, long v) { return put(key, new GgufValue(GgufValueType.UINT64, v)); }
    public GgufWriter putInt64(String key, long v) { return put(key, new GgufValue(GgufValueType.INT64, v)); }
    public GgufWriter putFloat32(String key, float v) { return put(key, new GgufValue(GgufValueType.FLOAT32, v)); }
    public GgufWriter putFloat64(String key, double v) { return put(key, new GgufValue(GgufValueType.FLOAT64, v)); }
    public GgufWriter putBool(String key, boolean v) { return put(key, new GgufValue(GgufValueType.BOOL, v)); }
    public GgufWriter putString(String key, String v) { return put(key, new GgufValue(GgufValueType.STRING, v)); }
    public GgufWriter putArray(String key, GgufArray v) { return put(key, new GgufValue(GgufValueType.ARRAY, v)); }

    /** A string array, the common case of tokenizer vocabularies. */
    public GgufWriter putStringArray(String key, String... v) { return putArray(key, new GgufArray(GgufValueType.STRING, v.clone())); }

    /** Copies every entry of {@code m}, in its order. */
    public GgufWriter putAll(GgufMetadata m) {
        m.asMap().forEach(this::put);
        return this;
    }

    /** Removes {@code key} if present. */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Sets {@code general.alignment} (UINT32), a power of two. */
    public GgufWriter alignment(int alignment) {
        return putUint32(GgufParser.ALIGNMENT_KEY, alignment);
    }

    /** Adds a tensor whose data is {@code data} (exactly its byte size, in ggml layout). */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type, byte[] data) {
        Objects.requireNonNull(data, "data");
        long size = checkTensor(name, dims, type);
        checkLength(name, data.length, size);
        return add(name, dims, type, size, out -> out.write(data));
    }

    /** Adds a tensor whose data is {@code data} (exactly its byte size, in ggml layout); read when the file is written. */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type, MemorySegment data) {
        Objects.requireNonNull(data, "data");
        long size = checkTensor(name, dims, type);
        checkLength(name, data.byteSize(), size);
        return add(name, dims, type, size, out -> copy(data, out));
    }

    /** Adds an F32 tensor; {@code data} holds its elements in ggml order (row after row of {@code dims[0]}). */
    public GgufWriter addTensor(String name, long[] dims, float[] data) {
        Objects.requireNonNull(data, "data");
        long size = checkTensor(name, dims, GgmlType.F32);
        checkLength(name, 4L * data.length, size);
        return add(name, dims, GgmlType.F32, size, out -> copy(MemorySegment.ofArray(data), out, true));
    }

    /** Adds a tensor whose bytes {@code source} produces while the file is written. */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type, TensorSource source) {
        Objects.requireNonNull(source, "source");
        return add(name, dims, type, checkTensor(name, dims, type), source);
    }

    /** The metadata set so far, in order (a snapshot). */
    public GgufMetadata metadata() {
        return new GgufMetadata(metadata);
    }

    /** The infos the tensors added so far will have in the file, offsets included, in order. */
    public List<GgufTensorInfo> tensorInfos() {
        int alignment = alignment();
        List<GgufTensorInfo> infos = new ArrayList<>(tensors.size());
        long offset = 0;
        for (PendingTensor t : tensors) {
            infos.add(new GgufTensorInfo(t.name, t.dims, t.type, offset));
            offset = GgufParser.alignUp(offset + t.byteSize, alignment);
        }
        return infos;
    }

    /**
     * Writes the file (replacing any file at {@code path}) and returns its size in bytes.
     *
     * @throws IOException if writing fails; nothing is left at {@code path} then (an earlier file stays)
     * @throws IllegalStateException if a tensor source writes more or fewer bytes than its tensor's size
     */
    public long write(Path path) throws IOException {
        Path fileName = path.getFileName();
        Path tmp = path.resolveSibling("." + (fileName == null ? "gguf" : fileName) + ".writing");
        boolean done = false;
        try {
            long size;
            try (OutputStream file = Files.newOutputStream(tmp)) {
                LeOutput out = new LeOutput(new BufferedOutputStream(file, 1 << 20));
                size = writeTo(out);
                out.flush();
            }
            try {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
            return size;
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    private long writeTo(LeOutput out) throws IOException {
        int alignment = alignment();
        List<GgufTensorInfo> infos = tensorInfos();
        out.bytes(new byte[]{'G', 'G', 'U', 'F'});
        out.u32(3);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().id());
            value(out, e.getValue().type(), e.getValue().value());
        }
        for (GgufTensorInfo t : infos) {
            out.string(t.name());
            out.u32(t.nDims());
            for (long d : t.dims()) out.u64(d);
            out.u32(t.type().id());
            out.u64(t.offset());
        }
        // A file without tensors ends after its infos, as llama.cpp's converter writes vocab-only files.
        if (!tensors.isEmpty()) out.padTo(alignment);
        long dataStart = out.position();
        for (int i = 0; i < tensors.size(); i++) {
            PendingTensor t = tensors.get(i);
            long before = out.position();
            if (before - dataStart != infos.get(i).offset()) throw new IllegalStateException("internal: tensor offset mismatch");
            OutputStream view = out.view();
            t.source.writeTo(view);
            long written = out.position() - before;
            if (written != t.byteSize) {
                throw new IllegalStateException("the source of tensor '" + t.name + "' wrote " + written + " bytes; "
                        + t.type + " " + java.util.Arrays.toString(t.dims) + " takes " + t.byteSize);
            }
            out.padTo(alignment);
        }
        return out.position();
    }

    private int alignment() {
        GgufValue v = metadata.get(GgufParser.ALIGNMENT_KEY);
        return v == null ? GgufParser.DEFAULT_ALIGNMENT : (int) alignmentValue(v);
    }

    private static long alignmentValue(GgufValue v) {
        return switch (v.value()) {
            case Byte b -> v.type() == GgufValueType.UINT8 ? Byte.toUnsignedLong(b) : b;
            case Short s -> v.type() == GgufValueType.UINT16 ? Short.toUnsignedLong(s) : s;
            case Integer i -> v.type() == GgufValueType.UINT32 ? Integer.toUnsignedLong(i) : i;
            case Long l -> l;
            default -> -1;
        };
    }

    private static void checkAlignment(GgufValue v) {
        long a = alignmentValue(v);
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException("'" + GgufParser.ALIGNMENT_KEY + "' must be an integer power of two up to 2^30, not " + v.value());
        }
    }

    private GgufWriter add(String name, long[] dims, GgmlType type, long size, TensorSource source) {
        if (tensorNames.putIfAbsent(name, tensors.size()) != null) throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        tensors.add(new PendingTensor(name, dims.clone(), type, size, source));
        return this;
    }

    private static long checkTensor(String name, long[] dims, GgmlType type) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dims, "dims");
        Objects.requireNonNull(type, "type");
        utf8("tensor name", name);
        try {
            return new GgufTensorInfo(name, dims, type, 0).byteSize();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor '" + name + "' is too large");
        }
    }

    private static void checkLength(String name, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' needs " + expected + " bytes of data but got " + actual);
        }
    }

    /** A value's Java representation must match its GGUF type (see {@link GgufValue}), recursively for arrays. */
    private static void checkValue(String key, GgufValueType type, Object v, int depth) {
        Objects.requireNonNull(type, "type of '" + key + "'");
        boolean ok = switch (type) {
            case UINT8, INT8 -> v instanceof Byte;
            case UINT16, INT16 -> v instanceof Short;
            case UINT32, INT32 -> v instanceof Integer;
            case UINT64, INT64 -> v instanceof Long;
            case FLOAT32 -> v instanceof Float;
            case FLOAT64 -> v instanceof Double;
            case BOOL -> v instanceof Boolean;
            case STRING -> v instanceof String s && utf8(key, s) != null;
            case ARRAY -> v instanceof GgufArray a && checkArray(key, a, depth + 1);
        };
        if (!ok) {
            throw new IllegalArgumentException("metadata '" + key + "': a " + type + " value cannot be a "
                    + (v == null ? "null" : v.getClass().getSimpleName()));
        }
    }

    private static boolean checkArray(String key, GgufArray a, int depth) {
        if (depth > GgufParser.MAX_ARRAY_NESTING) throw new IllegalArgumentException("metadata '" + key + "': arrays nested too deep");
        Object e = a.elements();
        GgufValueType t = a.elementType();
        if (t == null || e == null) return false;
        return switch (t) {
            case UINT8, INT8 -> e instanceof byte[];
            case UINT16, INT16 -> e instanceof short[];
            case UINT32, INT32 -> e instanceof int[];
            case UINT64, INT64 -> e instanceof long[];
            case FLOAT32 -> e instanceof float[];
            case FLOAT64 -> e instanceof double[];
            case BOOL -> e instanceof boolean[];
            case STRING -> {
                if (!(e instanceof String[] s)) yield false;
                for (String x : s) checkValue(key, GgufValueType.STRING, x, depth);
                yield true;
            }
            case ARRAY -> {
                if (!(e instanceof GgufArray[] n)) yield false;
                for (GgufArray x : n) checkValue(key, GgufValueType.ARRAY, x, depth);
                yield true;
            }
        };
    }

    /** Strict UTF-8: a string with an unpaired surrogate would not read back equal, so it is refused. */
    private static byte[] utf8(String key, String s) {
        try {
            ByteBuffer b = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(s));
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            return bytes;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("metadata '" + key + "': string is not valid Unicode (unpaired surrogate)");
        }
    }

    private static void value(LeOutput out, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((Byte) v);
            case UINT16, INT16 -> out.u16((Short) v);
            case UINT32, INT32 -> out.u32((Integer) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case STRING -> out.string((String) v);
            case ARRAY -> array(out, (GgufArray) v);
        }
    }

    private static void array(LeOutput out, GgufArray a) throws IOException {
        out.u32(a.elementType().id());
        out.u64(a.length());
        switch (a.elements()) {
            case byte[] x -> out.bytes(x);
            case short[] x -> { for (short s : x) out.u16(s); }
            case int[] x -> { for (int i : x) out.u32(i); }
            case long[] x -> { for (long l : x) out.u64(l); }
            case float[] x -> { for (float f : x) out.u32(Float.floatToRawIntBits(f)); }
            case double[] x -> { for (double d : x) out.u64(Double.doubleToRawLongBits(d)); }
            case boolean[] x -> { for (boolean b : x) out.u8(b ? 1 : 0); }
            case String[] x -> { for (String s : x) out.string(s); }
            case GgufArray[] x -> { for (GgufArray n : x) array(out, n); }
            default -> throw new IllegalStateException("unexpected array " + a.elements().getClass());
        }
    }

    private static void copy(MemorySegment data, OutputStream out) throws IOException {
        copy(data, out, false);
    }

    /** Copies a segment to the stream in chunks; {@code floats} re-encodes a float segment as little-endian. */
    private static void copy(MemorySegment data, OutputStream out, boolean floats) throws IOException {
        byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(1, data.byteSize()))];
        MemorySegment bufSeg = MemorySegment.ofArray(buf);
        for (long off = 0; off < data.byteSize(); off += buf.length) {
            int n = (int) Math.min(buf.length, data.byteSize() - off);
            if (floats) {
                MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED, off, bufSeg, GgufCursor.F32, 0, n / 4);
            } else {
                MemorySegment.copy(data, off, bufSeg, 0, n);
            }
            out.write(buf, 0, n);
        }
    }

    /** A little-endian output that knows its position. */
    private static final class LeOutput {
        private final OutputStream out;
        private final byte[] scratch = new byte[8];
        private long position;

        LeOutput(OutputStream out) {
            this.out = out;
        }

        long position() {
            return position;
        }

        void u8(int v) throws IOException {
            out.write(v);
            position++;
        }

        void u16(short v) throws IOException {
            scratch[0] = (byte) v;
            scratch[1] = (byte) (v >> 8);
            out.write(scratch, 0, 2);
            position += 2;
        }

        void u32(int v) throws IOException {
            for (int i = 0; i < 4; i++) scratch[i] = (byte) (v >> (8 * i));
            out.write(scratch, 0, 4);
            position += 4;
        }

        void u64(long v) throws IOException {
            for (int i = 0; i < 8; i++) scratch[i] = (byte) (v >> (8 * i));
            out.write(scratch, 0, 8);
            position += 8;
        }

        void bytes(byte[] b) throws IOException {
            out.write(b);
            position += b.length;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8); // validated as strict UTF-8 when it was put
            u64(b.length);
            bytes(b);
        }

        void padTo(int alignment) throws IOException {
            long pad = GgufParser.alignUp(position, alignment) - position;
            for (long i = 0; i < pad; i++) out.write(0);
            position += pad;
        }

        void flush() throws IOException {
            out.flush();
        }

        /** A stream for a tensor source: counts what it writes and ignores close. */
        OutputStream view() {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    out.write(b);
                    position++;
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    Objects.checkFromIndexSize(off, len, b.length);
                    out.write(b, off, len);
                    position += len;
                }
            };
        }
    }
}
