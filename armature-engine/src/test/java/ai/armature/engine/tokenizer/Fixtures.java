package ai.armature.engine.tokenizer;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Locates the shared tokenizer fixtures and reads the llama.cpp test-vector files. */
final class Fixtures {
    private Fixtures() {
    }

    /** {@code shared/fixtures/tokenizers}, found by walking up from the working directory; skips the test if absent. */
    static Path tokenizers() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            Path c = p.resolve("shared/fixtures/tokenizers");
            if (Files.isDirectory(c)) return c;
            c = p.getParent() == null ? null : p.getParent().resolve("shared/fixtures/tokenizers");
            if (c != null && Files.isDirectory(c)) return c;
        }
        Assumptions.abort("tokenizer fixtures not found: ../shared/fixtures/tokenizers next to the repository is absent");
        return null;
    }

    record Case(String input, int[] expected) {
    }

    /** The cases of {@code NAME.gguf.inp} / {@code .out}. */
    static List<Case> vectors(Path dir, String name) throws IOException {
        String inp = Files.readString(dir.resolve(name + ".inp"), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
        // The file ends with a separator line followed by nothing.
        String last = inputs.getLast();
        if (last.endsWith("\n__ggml_vocab_test__\n")) inputs.set(inputs.size() - 1, last.substring(0, last.length() - "\n__ggml_vocab_test__\n".length()));
        else if (last.isEmpty()) inputs.removeLast();
        List<String> outs = Files.readAllLines(dir.resolve(name + ".out"), StandardCharsets.UTF_8);
        if (outs.size() != inputs.size()) {
            throw new IllegalStateException(name + ": " + inputs.size() + " inputs but " + outs.size() + " outputs");
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String o = outs.get(i).trim();
            int[] ids = o.isEmpty() ? new int[0] : Arrays.stream(o.split("\\s+")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(inputs.get(i), ids));
        }
        return cases;
    }
}
