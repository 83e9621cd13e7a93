package ai.armature.engine.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Reads the real vocab-only GGUF files written by llama.cpp's converter (shared fixtures; skipped if absent). */
class GgufFixturesTest {

    @TempDir
    Path dir;

    static Path fixtures() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("shared/fixtures");
            if (Files.isDirectory(f)) return f;
        }
        return null;
    }

    static List<Path> ggufFixtures() throws IOException {
        Path f = fixtures();
        assumeTrue(f != null && Files.isDirectory(f.resolve("tokenizers/gguf")),
                "shared fixtures not found (expected ../shared/fixtures/tokenizers/gguf next to the repository)");
        try (Stream<Path> s = Files.list(f.resolve("tokenizers/gguf"))) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
            assumeTrue(!files.isEmpty(), "no .gguf fixtures");
            return files;
        }
    }

    @Test
    void opensEveryRealVocabFile() throws IOException {
        for (Path p : ggufFixtures()) {
            try (GgufFile g = GgufReader.open(p)) {
                GgufMetadata m = g.metadata();
                assertThat(g.version()).as(p.toString()).isIn(2, 3);
                assertThat(g.architecture()).as(p.toString()).isNotBlank();
                String[] tokens = m.getStringArray("tokenizer.ggml.tokens");
                assertThat(tokens).as(p.toString()).hasSizeGreaterThan(1000);
                assertThat(m.getString("tokenizer.ggml.model")).as(p.toString()).isNotBlank();
                if (m.contains("tokenizer.ggml.token_type")) {
                    assertThat(m.getIntArray("tokenizer.ggml.token_type")).as(p.toString()).hasSameSizeAs(tokens);
                }
                if (m.contains("tokenizer.ggml.scores")) {
                    assertThat(m.getFloatArray("tokenizer.ggml.scores")).as(p.toString()).hasSameSizeAs(tokens);
                }
                String arch = g.architecture();
                assertThat(m.contains(arch + ".block_count") || m.contains(arch + ".context_length")).as(p.toString()).isTrue();
            }
        }
    }

    @Test
    void knownValuesOfLlamaSpm() throws IOException {
        Path p = ggufFixtures().getFirst().resolveSibling("ggml-vocab-llama-spm.gguf");
        assumeTrue(Files.exists(p), "llama-spm fixture absent");
        try (GgufFile g = GgufReader.open(p)) {
            assertThat(g.architecture()).isEqualTo("llama");
            assertThat(g.metadata().getString("tokenizer.ggml.model")).isEqualTo("llama");
            String[] tokens = g.metadata().getStringArray("tokenizer.ggml.tokens");
            assertThat(tokens).hasSize(32000);
            assertThat(tokens[1]).isEqualTo("<s>");
            assertThat(tokens[2]).isEqualTo("</s>");
        }
    }

    /** Our writer lays files out as llama.cpp does: rewriting a real file's metadata reproduces it byte for byte. */
    @Test
    void rewritingARealFileReproducesItsBytes() throws IOException {
        int compared = 0;
        for (Path p : ggufFixtures()) {
            Path q = dir.resolve(p.getFileName());
            try (GgufFile g = GgufReader.open(p)) {
                if (g.version() != 3 || !g.tensors().isEmpty()) continue; // only v3 vocab-only files can be identical
                new GgufWriter().putAll(g.metadata()).write(q);
            }
            assertThat(Files.mismatch(p, q)).as(p.toString()).isEqualTo(-1);
            compared++;
        }
        assertThat(compared).isPositive();
    }
}
