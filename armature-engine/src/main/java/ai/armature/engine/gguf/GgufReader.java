package ai.armature.engine.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opens GGUF files (format versions 2 and 3, little-endian): maps the file read-only, parses and validates its
 * header, metadata and tensor infos, and returns a {@link GgufFile}. A file named {@code NAME-0000i-of-0000n.gguf}
 * whose metadata says {@code split.count = n} is one part of a split model; opening any part opens them all. Every
 * problem with a file, including I/O errors, is a {@link GgufFormatException} whose message starts with the path.
 * Metadata is copied into the heap (in proportion to its size in the file); tensor data stays in the mapping.
 */
public final class GgufReader {

    public static final String SPLIT_NO = "split.no";
    public static final String SPLIT_COUNT = "split.count";
    public static final String SPLIT_TENSORS_COUNT = "split.tensors.count";

    private static final Pattern SPLIT_NAME = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private GgufReader() {
    }

    /**
     * Opens a GGUF file, or every part of a split model.
     *
     * @throws GgufFormatException if a file is missing, unreadable, malformed or unsupported
     */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            GgufParser.Part first = map(path, arena);
            long count = splitValue(first, SPLIT_COUNT, 1);
            List<GgufParser.Part> parts = count > 1 ? openSplit(first, (int) count, arena) : List.of(first);
            return assemble(parts, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The file name of part {@code no} (1-based) of {@code count} of a split model whose names start with {@code prefix}. */
    public static String splitFileName(String prefix, int no, int count) {
        return String.format("%s-%05d-of-%05d.gguf", prefix, no, count);
    }

    private static GgufParser.Part map(Path path, Arena arena) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) throw new GgufFormatException(path + ": empty file, not a GGUF file");
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return GgufParser.parse(path, file);
        } catch (NoSuchFileException e) {
            throw new GgufFormatException(path + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new GgufFormatException(path + ": permission denied", e);
        } catch (IOException e) {
            String why = Files.isDirectory(path) ? "is a directory, not a GGUF file" : "cannot be read: " + e.getMessage();
            throw new GgufFormatException(path + ": " + why, e);
        }
    }

    private static long splitValue(GgufParser.Part part, String key, long absent) {
        try {
            return part.metadata().getLong(key, absent);
        } catch (GgufFormatException e) {
            throw new GgufFormatException(part.path() + ": " + e.getMessage());
        }
    }

    private static List<GgufParser.Part> openSplit(GgufParser.Part given, int count, Arena arena) {
        Path path = given.path();
        if (count > 99_999) throw new GgufFormatException(path + ": '" + SPLIT_COUNT + "' is an absurd " + count);
        Path fileName = path.getFileName();
        Matcher m = SPLIT_NAME.matcher(fileName == null ? "" : fileName.toString());
        if (!m.matches() || Integer.parseInt(m.group(3)) != count) {
            throw new GgufFormatException(path + ": is one part of a model split into " + count + " files, but its name does not end in -NNNNN-of-"
                    + String.format("%05d", count) + ".gguf, so the other parts cannot be found");
        }
        String prefix = m.group(1);
        int givenNo = Integer.parseInt(m.group(2));
        if (givenNo < 1 || givenNo > count) {
            throw new GgufFormatException(path + ": its name says part " + givenNo + " but the model has parts 1 to " + count);
        }
        List<GgufParser.Part> parts = new ArrayList<>(count);
        for (int no = 1; no <= count; no++) {
            Path partPath = path.resolveSibling(splitFileName(prefix, no, count));
            GgufParser.Part part;
            if (no == givenNo) {
                part = given;
            } else {
                if (!Files.exists(partPath)) {
                    throw new GgufFormatException(partPath + ": no such file (part " + no + " of the " + count + "-part model " + path + ")");
                }
                part = map(partPath, arena);
            }
            long partNo = splitValue(part, SPLIT_NO, -1);
            long partCount = splitValue(part, SPLIT_COUNT, -1);
            if (partNo != no - 1 || partCount != count) {
                throw new GgufFormatException(part.path() + ": should be part " + no + " of " + count + " (split.no = " + (no - 1)
                        + ", split.count = " + count + ") but its metadata says split.no = " + partNo + ", split.count = " + partCount);
            }
            parts.add(part);
        }
        return parts;
    }

    private static GgufFile assemble(List<GgufParser.Part> parts, Arena arena) {
        List<GgufTensorInfo> tensors = new ArrayList<>();
        for (GgufParser.Part p : parts) tensors.addAll(p.tensors());
        int[] partOf = new int[tensors.size()];
        Set<String> names = new HashSet<>();
        int i = 0;
        for (int p = 0; p < parts.size(); p++) {
            for (GgufTensorInfo t : parts.get(p).tensors()) {
                if (!names.add(t.name())) {
                    throw new GgufFormatException(parts.get(p).path() + ": tensor '" + t.name() + "' is also in an earlier part of the split model");
                }
                partOf[i++] = p;
            }
        }
        if (parts.size() > 1) {
            GgufParser.Part first = parts.getFirst();
            long expected = splitValue(first, SPLIT_TENSORS_COUNT, tensors.size());
            if (expected != tensors.size()) {
                throw new GgufFormatException(first.path() + ": '" + SPLIT_TENSORS_COUNT + "' says " + expected
                        + " tensors but the " + parts.size() + " parts hold " + tensors.size());
            }
        }
        return new GgufFile(arena, parts, tensors, partOf);
    }
}
