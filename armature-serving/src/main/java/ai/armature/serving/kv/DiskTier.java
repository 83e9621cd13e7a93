package ai.armature.serving.kv;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import ai.armature.serving.runner.KvLayout;

/**
 * G3: cached KV blocks as files in one directory, one file per block, up to {@code capacity} files, with an LRU
 * index. The directory belongs to one worker (a lock file keeps a second one out) and survives restarts: at start
 * every block file is re-indexed, oldest first, and files that are truncated, of another layout (model, KV type,
 * block size) or otherwise unreadable are deleted. A block file is
 * <pre>
 *   "ARMKVD01" | layout (KvLayout.writeTo) | hash (8) | parent hash (8) | token count (4) | tokens (4 each)
 *              | K/V bytes (layout.blockBytes()) | CRC32C of everything before (4)
 * </pre>
 * named {@code <hash as 16 hex digits>.kvb}, written to a temporary name first and renamed, and its checksum is
 * verified on every read: a corrupt block is reported, never used. The index belongs to the engine thread; files are
 * written, read and deleted only by the worker's {@link KvMover}, in submission order.
 */
final class DiskTier implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(DiskTier.class.getName());
    private static final long MAGIC = 0x41524D4B56443031L; // "ARMKVD01"
    private static final String SUFFIX = ".kvb";

    /** A block held here: its hash, its parent's hash and tokens (for events). */
    record Entry(long hash, long parentHash, int[] tokens) {
    }

    /** A block file that failed its checks. */
    static final class CorruptBlockException extends Exception {
        CorruptBlockException(String message) {
            super(message);
        }
    }

    private final Path dir;
    private final KvLayout layout;
    private final int headerBytes;
    private final long fileBytes;
    private final int capacity;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final TierIndex<Entry> index = new TierIndex<>(Entry::hash);
    private int droppedAtStart;

    DiskTier(Path dir, long bytes, KvLayout layout) {
        this.dir = dir;
        this.layout = layout;
        this.headerBytes = header(layout, new Entry(0, 0, new int[layout.blockSize()])).length;
        this.fileBytes = headerBytes + layout.blockBytes() + 4;
        long files = bytes / fileBytes;
        if (files < 1) {
            throw new IllegalArgumentException("--kv-disk-size of " + bytes + " bytes holds no KV block file of " + fileBytes
                    + " bytes: give it at least " + fileBytes + " bytes per worker");
        }
        this.capacity = (int) Math.min(files, Integer.MAX_VALUE - 8);
        try {
            Files.createDirectories(dir);
            lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot use " + dir + " for the KV disk tier: " + e.getMessage(), e);
        }
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (OverlappingFileLockException | IOException e) {
            l = null;
        }
        if (l == null) {
            closeQuietly();
            throw new IllegalArgumentException("the KV disk directory " + dir + " is in use by another worker: give each worker its own --kv-disk-dir");
        }
        lock = l;
        try {
            reindex();
            long usable = Files.getFileStore(dir).getUsableSpace() + (long) index.size() * fileBytes;
            if ((long) capacity * fileBytes > usable) {
                throw new IllegalArgumentException("--kv-disk-size asks for " + (long) capacity * fileBytes + " bytes in " + dir
                        + " but its file system has " + usable + " bytes usable: give a smaller size");
            }
        } catch (IOException e) {
            close();
            throw new IllegalArgumentException("cannot read the KV disk directory " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void reindex() throws IOException {
        record Found(Path path, FileTime time) {
        }
        List<Found> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    Files.deleteIfExists(p); // a write interrupted by a crash
                } else if (name.endsWith(SUFFIX)) {
                    found.add(new Found(p, Files.getLastModifiedTime(p)));
                }
            }
        }
        found.sort(Comparator.comparing(Found::time));
        for (Found f : found) {
            Entry e = readHeader(f.path());
            if (e == null) {
                droppedAtStart++;
                Files.deleteIfExists(f.path());
            } else {
                index.put(e);
            }
        }
        while (index.size() > capacity) {
            Entry e = index.eldest();
            index.remove(e);
            Files.deleteIfExists(file(e.hash()));
        }
        if (droppedAtStart > 0) {
            LOG.warning(() -> dir + ": dropped " + droppedAtStart + " KV block files that were truncated, corrupt or of another model or layout");
        }
    }

    /** The entry a block file describes, or null if it is not a complete file of this layout. */
    private Entry readHeader(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() != fileBytes) return null;
            ByteBuffer head = ByteBuffer.allocate(headerBytes);
            while (head.hasRemaining() && ch.read(head) > 0) { }
            Entry e = parseHeader(head.array());
            return e != null && path.getFileName().toString().equals(name(e.hash())) ? e : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The entry of a header of this layout, or null. */
    private Entry parseHeader(byte[] head) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(head));
            if (in.readLong() != MAGIC) return null;
            if (!KvLayout.readFrom(in).equals(layout)) return null;
            long hash = in.readLong();
            long parent = in.readLong();
            int n = in.readInt();
            if (n != layout.blockSize()) return null;
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = in.readInt();
            return new Entry(hash, parent, tokens);
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] header(KvLayout layout, Entry e) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeLong(MAGIC);
            layout.writeTo(out);
            out.writeLong(e.hash());
            out.writeLong(e.parentHash());
            out.writeInt(e.tokens().length);
            for (int t : e.tokens()) out.writeInt(t);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    int capacity() {
        return capacity;
    }

    /** Bytes of one block file. */
    long fileBytes() {
        return fileBytes;
    }

    /** Files deleted at start (truncated, corrupt header, another layout). */
    int droppedAtStart() {
        return droppedAtStart;
    }

    /** The LRU index of the blocks held here. */
    TierIndex<Entry> index() {
        return index;
    }

    boolean full() {
        return index.size() >= capacity;
    }

    Entry insert(long hash, long parentHash, int[] tokens) {
        if (full()) throw new IllegalStateException("the disk tier is full");
        Entry e = new Entry(hash, parentHash, tokens);
        index.put(e);
        return e;
    }

    // ---- mover thread only ----

    /** Writes block {@code e} with K/V {@code data} ({@code layout.blockBytes()} bytes). */
    void write(Entry e, MemorySegment data) throws IOException {
        byte[] head = header(layout, e);
        CRC32C crc = new CRC32C();
        crc.update(head);
        ByteBuffer body = data.asByteBuffer();
        crc.update(body.duplicate());
        ByteBuffer tail = ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip();
        Path tmp = dir.resolve("." + name(e.hash()) + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer[] parts = {ByteBuffer.wrap(head), body, tail};
            long total = fileBytes;
            while (total > 0) total -= ch.write(parts);
        } catch (IOException x) {
            Files.deleteIfExists(tmp);
            throw x;
        }
        Files.move(tmp, file(e.hash()), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Reads block {@code e}'s file into {@code staging} (at least {@link #fileBytes()} bytes) and verifies it;
     * returns the offset of its K/V bytes in {@code staging}.
     */
    long read(Entry e, MemorySegment staging) throws CorruptBlockException {
        Path path = file(e.hash());
        ByteBuffer buf = staging.asSlice(0, fileBytes).asByteBuffer();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() != fileBytes) throw new CorruptBlockException(path + " is truncated (" + ch.size() + " of " + fileBytes + " bytes)");
            while (buf.hasRemaining() && ch.read(buf) > 0) { }
        } catch (NoSuchFileException x) {
            throw new CorruptBlockException(path + " is missing");
        } catch (IOException x) {
            throw new CorruptBlockException("cannot read " + path + ": " + x.getMessage());
        }
        if (buf.hasRemaining()) throw new CorruptBlockException(path + " is truncated");
        CRC32C crc = new CRC32C();
        crc.update(staging.asSlice(0, fileBytes - 4).asByteBuffer());
        int stored = staging.asSlice(fileBytes - 4, 4).asByteBuffer().getInt();
        if ((int) crc.getValue() != stored) throw new CorruptBlockException(path + " is corrupt (checksum mismatch)");
        byte[] head = new byte[headerBytes];
        MemorySegment.copy(staging, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, head, 0, headerBytes);
        Entry found = parseHeader(head);
        if (found == null || found.hash() != e.hash()) throw new CorruptBlockException(path + " does not hold block " + name(e.hash()));
        return headerBytes;
    }

    void delete(Entry e) throws IOException {
        Files.deleteIfExists(file(e.hash()));
    }

    void deleteAll() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.getFileName().toString().endsWith(SUFFIX)) Files.deleteIfExists(p);
            }
        }
    }

    Path file(long hash) {
        return dir.resolve(name(hash));
    }

    private static String name(long hash) {
        return String.format("%016x", hash) + SUFFIX;
    }

    @Override
    public void close() {
        try {
            if (lock != null && lock.isValid()) lock.release();
        } catch (IOException ignored) {
            // the lock goes with the channel
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            lockChannel.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
