package ai.armature.engine.grammar;

import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Masks over real vocabularies (the shared fixture tokenizers: SentencePiece with byte fallback, byte-level BPE,
 * WordPiece): the mask equals the brute-force answer on sampled steps, and random outputs validate.
 */
class RealVocabularyTest {

    static Path fixture(String name) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/fixtures/tokenizers/gguf/" + name);
            if (Files.exists(c)) return c;
            if (p.getParent() != null && Files.exists(p.getParent().resolve("shared/fixtures/tokenizers/gguf/" + name))) {
                return p.getParent().resolve("shared/fixtures/tokenizers/gguf/" + name);
            }
        }
        Assumptions.abort("fixture " + name + " not found under ../shared/fixtures/tokenizers/gguf");
        return null;
    }

    static String fiftyProperties() {
        StringBuilder s = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        String[] types = {"{\"type\":\"string\",\"maxLength\":12}", "{\"type\":\"integer\"}", "{\"type\":\"boolean\"}", "{\"type\":\"number\",\"minimum\":0,\"maximum\":100}",
                "{\"enum\":[\"low\",\"mid\",\"high\"]}", "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":5},\"maxItems\":3}"};
        for (int i = 0; i < 50; i++) {
            if (i > 0) s.append(',');
            s.append("\"field_").append(i).append("\":").append(types[i % types.length]);
        }
        s.append("},\"required\":[");
        for (int i = 0; i < 50; i += 2) s.append(i == 0 ? "" : ",").append("\"field_").append(i).append('"');
        return s.append("],\"additionalProperties\":false}").toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-bert-bge.gguf"})
    void masksMatchBruteForceOnRealVocabularies(String name) throws Exception {
        Tokenizer tok = Tokenizers.load(fixture(name));
        TokenVocabulary vocab = TokenVocabulary.of(tok, tok.vocabSize());
        String schema = fiftyProperties();
        Grammar g = JsonSchemaCompiler.compile(schema);
        CompiledGrammar cg = new CompiledGrammar(g, vocab);
        cg.precompute();
        SplittableRandom r = new SplittableRandom(1);
        SchemaValidator validator = new SchemaValidator(schema);
        int[] steps = {0};
        int complete = 0;
        for (int i = 0; i < 2; i++) {
            RandomWalker.Output out = new RandomWalker(cg, 0.7).walk(r, 2000, (prefix, mask) -> {
                if (steps[0]++ % 80 == 0) ConstrainedDecodingTest.assertBruteForce(g, vocab, prefix, mask);
            });
            if (out.complete()) {
                complete++;
                assertThat(validator.errors(out.text())).as(out.text()).isEmpty();
            }
        }
        assertThat(complete).isPositive();
    }
}
