package ai.armature.serving.worker;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.gguf.GgufValue;
import ai.armature.engine.gguf.GgufWriter;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * The files a frontend needs to tokenize and template for a model, without its weights, as one byte array (a zip)
 * named by its SHA-256. A real vocabulary is megabytes (Llama 3's tokenizer is about 9 MB), far over what a
 * discovery record should hold (etcd refuses values over 1.5 MiB by default), so a worker's model card carries only
 * the hash and size, and a frontend fetches the bytes from the worker once per hash.
 *
 * <p>Entries: {@code tokenizer.json}, {@code tokenizer_config.json}, {@code chat_template.jinja} and
 * {@code generation_config.json} as found in a Hugging Face model directory; or {@code tokenizer.gguf}, a GGUF file
 * with the model's {@code tokenizer.*} and {@code general.*} metadata and no tensors (a "vocab-only" file). The
 * bytes are deterministic (sorted entries, fixed times), so workers of one model publish the same hash.
 */
public record TokenizerBundle(byte[] bytes, String sha256) {

    private static final String GGUF_ENTRY = "tokenizer.gguf";
    private static final List<String> HF_FILES = List.of("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
            "generation_config.json");
    private static final Set<String> ALLOWED = Set.of(GGUF_ENTRY, "tokenizer.json", "tokenizer_config.json",
            "chat_template.jinja", "generation_config.json");
    private static final FileTime EPOCH = FileTime.fromMillis(0);
    /** The largest bundle accepted: more than any real tokenizer, small enough to refuse a runaway peer. */
    public static final int MAX_BYTES = 256 << 20;

    /** Packs the tokenizer sources of a model. */
    public static TokenizerBundle of(ModelTokenizer model) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        if (model.metadata() == null) {
            for (String f : HF_FILES) {
                Path p = model.source().resolve(f);
                if (Files.exists(p)) files.put(f, Files.readAllBytes(p));
            }
        } else {
            files.put(GGUF_ENTRY, vocabOnlyGguf(model.metadata()));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setLastModifiedTime(EPOCH);
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        byte[] bytes = out.toByteArray();
        return new TokenizerBundle(bytes, sha256(bytes));
    }

    /**
     * Opens the tokenizer and template of a bundle, checking its hash first.
     *
     * @throws IllegalArgumentException if the bytes do not match {@code expectedSha256} or are not a bundle
     */
    public static ModelTokenizer open(byte[] bytes, String expectedSha256) throws IOException {
        if (expectedSha256 != null && !sha256(bytes).equals(expectedSha256)) {
            throw new IllegalArgumentException("the tokenizer bundle does not match its hash " + expectedSha256 + " (corrupted in transfer?)");
        }
        Path dir = Files.createTempDirectory("armature-tokenizer-");
        try {
            boolean gguf = false;
            try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
                for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                    if (!ALLOWED.contains(e.getName())) throw new IllegalArgumentException("unexpected entry '" + e.getName() + "' in a tokenizer bundle");
                    Files.write(dir.resolve(e.getName()), zip.readAllBytes());
                    gguf |= e.getName().equals(GGUF_ENTRY);
                }
            }
            if (gguf) {
                try (GgufFile f = GgufReader.open(dir.resolve(GGUF_ENTRY))) {
                    ModelTokenizer t = ModelTokenizer.of(dir.resolve(GGUF_ENTRY), f.metadata());
                    return new ModelTokenizer(dir.resolve(GGUF_ENTRY), t.metadata(), t.tokenizer(), t.chatTemplate());
                }
            }
            if (!Files.exists(dir.resolve("tokenizer.json"))) throw new IllegalArgumentException("the tokenizer bundle holds no tokenizer");
            return ModelTokenizer.of(dir, null);
        } finally {
            deleteTree(dir);
        }
    }

    /** The model's tokenizer and general metadata as a GGUF file with no tensors. */
    private static byte[] vocabOnlyGguf(GgufMetadata md) throws IOException {
        GgufWriter w = new GgufWriter();
        for (Map.Entry<String, GgufValue> e : new TreeMap<>(md.asMap()).entrySet()) {
            if (e.getKey().startsWith("tokenizer.") || e.getKey().startsWith("general.") && !e.getKey().equals("general.alignment")) {
                w.put(e.getKey(), e.getValue());
            }
        }
        Path tmp = Files.createTempFile("armature-vocab-", ".gguf");
        try {
            w.write(tmp);
            return Files.readAllBytes(tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
