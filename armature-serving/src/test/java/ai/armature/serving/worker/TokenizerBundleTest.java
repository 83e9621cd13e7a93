package ai.armature.serving.worker;

import ai.armature.engine.demo.DemoModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A frontend that opens a model from its tokenizer bundle alone gets the tokenizer and chat template the worker
 * uses: same ids for the same text, same end-of-generation ids, same rendered prompt; for a GGUF model (a vocab-only
 * GGUF) and a Hugging Face tokenizer.json directory (Llama 3's real vocabulary, from the shared fixtures).
 */
class TokenizerBundleTest {

    private static final String TEXT = "Hello world! <|im_start|> 12345 naïve café\n\ttabs";

    @Test
    void aGgufModelsTokenizerTravelsWithoutItsWeights(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), file);
        try (LoadedModel model = LoadedModel.open(file)) {
            TokenizerBundle bundle = TokenizerBundle.of(model.modelTokenizer());
            assertThat(bundle.bytes().length).isLessThan((int) Files.size(file));
            assertThat(TokenizerBundle.of(ModelTokenizer.open(file)).sha256()).isEqualTo(bundle.sha256());
            assertSame(model.modelTokenizer(), TokenizerBundle.open(bundle.bytes(), bundle.sha256()));
        }
    }

    @Test
    void aHuggingFaceTokenizerTravelsWithItsConfig() throws Exception {
        Path hf = fixtures().resolve("tokenizers/hf/llama3");
        Assumptions.assumeTrue(Files.exists(hf.resolve("tokenizer.json")),
                "shared fixtures not found (expected ../shared/fixtures/tokenizers/hf/llama3 next to the repository)");
        ModelTokenizer source = ModelTokenizer.open(hf);
        TokenizerBundle bundle = TokenizerBundle.of(source);
        assertThat(bundle.bytes().length).isGreaterThan(1_500_000); // more than etcd would take in a value
        assertSame(source, TokenizerBundle.open(bundle.bytes(), bundle.sha256()));
    }

    @Test
    void aCorruptedBundleIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), file);
        TokenizerBundle bundle = TokenizerBundle.of(ModelTokenizer.open(file));
        byte[] bad = bundle.bytes().clone();
        bad[bad.length / 2] ^= 1;
        assertThatThrownBy(() -> TokenizerBundle.open(bad, bundle.sha256())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not match its hash");
    }

    /** The shared fixtures folder beside the repository (searched upwards from the module directory). */
    private static Path fixtures() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("shared/fixtures"))) return p.resolve("shared/fixtures");
        }
        return Path.of("../shared/fixtures");
    }

    private static void assertSame(ModelTokenizer expected, ModelTokenizer actual) {
        assertThat(actual.tokenizer().vocabSize()).isEqualTo(expected.tokenizer().vocabSize());
        assertThat(actual.tokenizer().encode(TEXT, true, true)).containsExactly(expected.tokenizer().encode(TEXT, true, true));
        assertThat(ModelTokenizer.endOfGenerationIds(actual.tokenizer()))
                .containsExactly(ModelTokenizer.endOfGenerationIds(expected.tokenizer()));
        List<Map<String, Object>> chat = List.of(Map.of("role", "system", "content", "be brief"), Map.of("role", "user", "content", "hi"));
        assertThat(actual.chatTemplate().render(chat, null, true)).isEqualTo(expected.chatTemplate().render(chat, null, true));
    }
}
