package ai.armature.engine.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every GGUF vocabulary fixture with test vectors, and the Llama 3 / Qwen vectors against the Hugging Face
 * tokenizer.json files: encode (no BOS) must equal the reference ids exactly, decode must give the text back
 * where the tokenizer is lossless, and streaming decode must equal full decode.
 */
class FixtureVectorsTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-spm", "phi-3", "deepseek-llm", "deepseek-coder", "falcon", "starcoder",
            "refact", "mpt"})
    void ggufVocabularyMatchesReference(String name) throws Exception {
        Path dir = Fixtures.tokenizers().resolve("gguf");
        Tokenizer tok = Tokenizers.load(dir.resolve("ggml-vocab-" + name + ".gguf"));
        check(tok, Fixtures.vectors(dir, "ggml-vocab-" + name + ".gguf"), name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-bpe:llama3", "qwen2:qwen3"})
    void huggingFaceTokenizerMatchesReference(String pair) throws Exception {
        String[] p = pair.split(":");
        Path root = Fixtures.tokenizers();
        Tokenizer tok = Tokenizers.load(root.resolve("hf").resolve(p[1]));
        check(tok, Fixtures.vectors(root.resolve("gguf"), "ggml-vocab-" + p[0] + ".gguf"), pair);
    }

    static void check(Tokenizer tok, List<Fixtures.Case> cases, String name) {
        List<String> failures = new ArrayList<>();
        for (Fixtures.Case c : cases) {
            int[] ids = tok.encode(c.input(), false, false);
            if (!Arrays.equals(ids, c.expected())) {
                failures.add(name + ": " + quote(c.input()) + "\n  expected " + Arrays.toString(c.expected()) + "\n  actual   " + Arrays.toString(ids));
                continue;
            }
            String full = tok.decode(ids, false);
            StreamingDetokenizer sd = tok.streamingDetokenizer(false);
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) streamed.append(sd.accept(id));
            streamed.append(sd.flush());
            if (!streamed.toString().equals(full)) failures.add(name + ": streaming decode differs for " + quote(c.input()));
        }
        assertThat(failures).as("mismatches").isEmpty();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20) b.append(String.format("\\x%02x", cp));
            else b.appendCodePoint(cp);
        });
        return b.append('"').toString();
    }
}
