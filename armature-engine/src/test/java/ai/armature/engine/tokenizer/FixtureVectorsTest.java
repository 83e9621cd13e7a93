package ai.armature.engine.tokenizer;

import org.junit.jupiter.api.Test;
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
            "refact", "mpt", "bert-bge"})
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

    @ParameterizedTest
    @ValueSource(strings = {"baichuan", "gpt-neox"})
    void vocabulariesWithoutVectorsLoadAndRoundTrip(String name) throws Exception {
        // baichuan is SentencePiece without byte tokens for every byte; gpt-neox has no tokenizer.ggml.pre (GPT-2 fallback).
        Tokenizer tok = Tokenizers.load(Fixtures.tokenizers().resolve("gguf/ggml-vocab-" + name + ".gguf"));
        String text = "Hello world, this is a test.\n  Indented code();";
        int[] ids = tok.encode(text, false, false);
        assertThat(ids).isNotEmpty();
        assertThat(tok.decode(ids, false)).isEqualTo(text);
    }

    @Test
    void llama3SpecialTokensAreParsedOnlyOnRequestAndEndGeneration() throws Exception {
        Tokenizer tok = Tokenizers.load(Fixtures.tokenizers().resolve("hf/llama3"));
        int eot = tok.tokenId("<|eot_id|>");
        assertThat(eot).isEqualTo(128009);
        String text = "Hi<|eot_id|><|start_header_id|>";
        assertThat(tok.encode(text, false, true)).containsExactly(13347, 128009, 128006);
        int[] raw = tok.encode(text, false, false);
        assertThat(java.util.Arrays.stream(raw).max().orElse(0)).isLessThan(128000);
        assertThat(tok.decode(raw, false)).isEqualTo(text);
        assertThat(tok.isEndOfGeneration(eot)).isTrue();
        assertThat(tok.isEndOfGeneration(tok.eosTokenId())).isTrue();
        assertThat(tok.tokenText(tok.eosTokenId())).isEqualTo("<|end_of_text|>");
        assertThat(tok.tokenText(tok.bosTokenId())).isEqualTo("<|begin_of_text|>");
        assertThat(tok.isEndOfGeneration(13347)).isFalse();
        assertThat(tok.decode(new int[]{128000, 13347, 128009}, false)).isEqualTo("Hi");
        assertThat(tok.decode(new int[]{128000, 13347, 128009}, true)).isEqualTo("<|begin_of_text|>Hi<|eot_id|>");
    }

    @Test
    void qwen3EndsOnImEndAndRefusesInjectionWithoutParseSpecial() throws Exception {
        Tokenizer tok = Tokenizers.load(Fixtures.tokenizers().resolve("hf/qwen3/tokenizer.json"));
        int imEnd = tok.tokenId("<|im_end|>");
        assertThat(tok.eosTokenId()).isEqualTo(imEnd);
        assertThat(tok.isEndOfGeneration(imEnd)).isTrue();
        assertThat(tok.isEndOfGeneration(tok.tokenId("<|endoftext|>"))).isTrue();
        assertThat(tok.bosTokenId()).isEqualTo(-1);
        assertThat(tok.encode("<|im_start|>user", false, false)).doesNotContain(tok.tokenId("<|im_start|>"));
        assertThat(tok.encode("<|im_start|>user", false, true)).startsWith(tok.tokenId("<|im_start|>"));
    }

    @Test
    void spmGgufDecodesStreamsAndRoundTripsMixedText() throws Exception {
        Tokenizer tok = Tokenizers.load(Fixtures.tokenizers().resolve("gguf/ggml-vocab-llama-spm.gguf"));
        assertThat(tok.addBosByDefault()).isTrue();
        String text = " Hello  world\n\tcode(); 日本語 😀 Ünïcödé";
        int[] ids = tok.encode(text, true, false);
        assertThat(ids[0]).isEqualTo(tok.bosTokenId());
        assertThat(tok.decode(ids, false)).isEqualTo(text);
        StreamingDetokenizer sd = tok.streamingDetokenizer(false);
        StringBuilder b = new StringBuilder();
        for (int id : ids) b.append(sd.accept(id));
        assertThat(b.append(sd.flush()).toString()).isEqualTo(text);
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
            String lossless = java.text.Normalizer.normalize(c.input(), java.text.Normalizer.Form.NFC);
            if (!name.equals("bert-bge") && !full.equals(c.input()) && !(name.contains("qwen") && full.equals(lossless))) {
                failures.add(name + ": decode(encode(s)) != s for " + quote(c.input()) + ": " + quote(full));
            }
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
