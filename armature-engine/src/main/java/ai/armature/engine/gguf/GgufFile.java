package ai.armature.engine.gguf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An open GGUF model: its metadata, its tensor infos in file order, and its tensor data, memory-mapped read-only.
 * A model split over several files ({@code NAME-00001-of-00003.gguf}, ...) is one {@code GgufFile} whose metadata
 * comes from the first part and whose tensors are those of all parts. Segments returned by
 * {@link #tensorData(String)} stay valid until {@link #close()}, which unmaps the files; using one afterwards
 * throws {@link IllegalStateException}. Open one with {@link GgufReader#open(Path)}.
 */
public final class GgufFile implements AutoCloseable {

    private final Arena arena;
    private final List<GgufParser.Part> parts;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, Integer> indexByName;
    /** For tensor i in {@link #tensors}: the index of the part that holds it. */
    private final int[] partOf;
    private volatile boolean closed;

    GgufFile(Arena arena, List<GgufParser.Part> parts, List<GgufTensorInfo> tensors, int[] partOf) {
        this.arena = arena;
        this.parts = List.copyOf(parts);
        this.tensors = List.copyOf(tensors);
        this.partOf = partOf;
        this.indexByName = new HashMap<>(Math.max(16, tensors.size() * 2));
        for (int i = 0; i < tensors.size(); i++) indexByName.put(tensors.get(i).name(), i);
    }

    /** The file that was opened; for a split model, its first part. */
    public Path path() {
        return parts.getFirst().path();
    }

    /** The files of this model in order: one, or every part of a split model. */
    public List<Path> parts() {
        return parts.stream().map(GgufParser.Part::path).toList();
    }

    /** The GGUF format version of the (first) file: 2 or 3. */
    public int version() {
        return parts.getFirst().version();
    }

    /** The metadata of the (first) file. */
    public GgufMetadata metadata() {
        return parts.getFirst().metadata();
    }

    /** Shorthand for the {@code general.architecture} metadata value, or null if absent. */
    public String architecture() {
        return metadata().getString("general.architecture");
    }

    /** All tensor infos in file order (for a split model: part by part). */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public int tensorCount() {
        return tensors.size();
    }

    public boolean hasTensor(String name) {
        return indexByName.containsKey(name);
    }

    /** The info of the tensor called {@code name}, or null if there is none. */
    public GgufTensorInfo tensor(String name) {
        Integer i = indexByName.get(name);
        return i == null ? null : tensors.get(i);
    }

    /** Same as {@link #tensor(String)}: null if there is no such tensor. */
    public GgufTensorInfo findTensor(String name) {
        return tensor(name);
    }

    /**
     * The info of the tensor called {@code name}.
     *
     * @throws GgufFormatException naming the file and the tensor if it has no such tensor
     */
    public GgufTensorInfo requireTensor(String name) {
        GgufTensorInfo t = tensor(name);
        if (t == null) throw new GgufFormatException(path() + ": has no tensor '" + name + "'");
        return t;
    }

    /**
     * The bytes of the tensor called {@code name}: a read-only slice of the mapped file, exactly
     * {@link GgufTensorInfo#byteSize()} long.
     *
     * @throws GgufFormatException if there is no such tensor
     */
    public MemorySegment tensorData(String name) {
        ensureOpen();
        Integer i = indexByName.get(name);
        if (i == null) throw new GgufFormatException(path() + ": has no tensor '" + name + "'");
        GgufTensorInfo t = tensors.get(i);
        GgufParser.Part part = parts.get(partOf[i]);
        return part.file().asSlice(part.dataOffset() + t.offset(), t.byteSize()).asReadOnly();
    }

    /** The bytes of {@code tensor}, which must be one of this file's tensors. */
    public MemorySegment tensorData(GgufTensorInfo tensor) {
        return tensorData(tensor.name());
    }

    /** The alignment of the tensor data, from {@code general.alignment} (default 32). */
    public int alignment() {
        return parts.getFirst().alignment();
    }

    /** Where the data section of the (first) file starts, in bytes from the start of the file. */
    public long dataOffset() {
        return parts.getFirst().dataOffset();
    }

    /** Where the data section of part {@code part} (0-based) starts. */
    public long dataOffset(int part) {
        return parts.get(part).dataOffset();
    }

    /** Size in bytes of all the files of this model together. */
    public long fileSize() {
        long n = 0;
        for (GgufParser.Part p : parts) n += p.file().byteSize();
        return n;
    }

    /** Sum of the tensors' data sizes. */
    public long tensorBytes() {
        long n = 0;
        for (GgufTensorInfo t : tensors) n += t.byteSize();
        return n;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException(path() + " is closed");
    }

    /** Unmaps the file(s); segments handed out before become unusable. Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) return;
        synchronized (this) {
            if (closed) return;
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GgufFile[" + path() + ", v" + version() + ", " + tensors.size() + " tensors, " + metadata().keys().size() + " keys]";
    }
}
