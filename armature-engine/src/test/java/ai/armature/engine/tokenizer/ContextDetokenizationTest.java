package ai.armature.engine.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A continuation is decoded in the context of its prompt: for every fixture vocabulary (SentencePiece, byte-level
 * BPE, WordPiece), many prompts and random continuations, {@code decode(prompt + continuation) == decode(prompt) +
 * streamed text}, for the built-in decoders and for the generic windowed one every other tokenizer gets.
 */
class ContextDetokenizationTest {

    private static final String[] GGUF = {"llama-spm", "phi-3", "baichuan", "gpt-2", "deepseek-llm", "starcoder", "falcon", "bert-bge"};
    private static final String[] HF = {"llama3", "qwen3"};

    private static Tokenizer load(String name) throws Exception {
        Path root = Fixtures.tokenizers();
        for (String h : HF) if (h.equals(name)) return Tokenizers.load(root.resolve("hf").resolve(name));
        return Tokenizers.load(root.resolve("gguf/ggml-vocab-" + name + ".gguf"));
    }

    /** Test prompts: the vectors' inputs where there are some, plus a few of our own. */
    private static List<String> prompts(String name) throws Exception {
        List<String> out = new ArrayList<>(List.of("Hello, my name is", "The capital of France", " leading space",
                "ends with a space ", "日本語のテキスト", "emoji 😀 and more", "line\nbreak", "x"));
        Path dir = Fixtures.tokenizers().resolve("gguf");
        String vectors = switch (name) {
            case "llama3" -> "llama-bpe";
            case "qwen3" -> "qwen2";
            default -> name;
        };
        if (java.nio.file.Files.exists(dir.resolve("ggml-vocab-" + vectors + ".gguf.inp"))) {
            for (Fixtures.Case c : Fixtures.vectors(dir, "ggml-vocab-" + vectors + ".gguf")) {
                if (!c.input().isEmpty()) out.add(c.input());
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "baichuan", "gpt-2", "deepseek-llm", "starcoder", "falcon", "bert-bge", "llama3", "qwen3"})
    void aRandomContinuationDecodesInThePromptsContext(String name) throws Exception {
        Tokenizer tok = load(name);
        SplittableRandom rnd = new SplittableRandom(name.hashCode());
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (String prompt : prompts(name)) {
            int[] p = tok.encode(prompt, tok.addBosByDefault(), false);
            if (p.length == 0) continue;
            for (int trial = 0; trial < 8; trial++) {
                int[] cont = new int[1 + rnd.nextInt(12)];
                for (int i = 0; i < cont.length; i++) cont[i] = rnd.nextInt(tok.vocabSize());
                String expected = tok.decode(concat(p, cont), false);
                String got = tok.decode(p, false) + stream(tok.streamingDetokenizer(p, false), cont);
                if (!got.equals(expected)) failures.add(prompt + " + " + Arrays.toString(cont) + ": " + got + " != " + expected);
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(50);
        assertThat(failures).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "gpt-2", "bert-bge", "llama3"})
    void theGenericWindowedDecoderAgreesOnTextContinuations(String name) throws Exception {
        Tokenizer tok = load(name);
        Tokenizer plain = new Delegate(tok); // only the interface's default context decoder
        SplittableRandom rnd = new SplittableRandom(7);
        List<String> words = List.of(" piece", " the", "ing", "日本", " 😀", ",", "\n", " Hello", "world", " é");
        List<String> failures = new ArrayList<>();
        for (String prompt : prompts(name)) {
            int[] p = tok.encode(prompt, tok.addBosByDefault(), false);
            if (p.length == 0) continue;
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 1 + rnd.nextInt(6); i++) text.append(words.get(rnd.nextInt(words.size())));
            int[] cont = tok.encode(prompt + text, tok.addBosByDefault(), false);
            if (!startsWith(cont, p)) continue; // the prompt's tokens changed at the seam: no clean continuation
            int[] tail = Arrays.copyOfRange(cont, p.length, cont.length);
            String expected = tok.decode(cont, false);
            String got = tok.decode(p, false) + stream(plain.streamingDetokenizer(p, false), tail);
            if (!got.equals(expected)) failures.add(prompt + " + " + text + ": " + got + " != " + expected);
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void sentencePieceKeepsTheFirstSpaceOfAContinuation() throws Exception {
        Tokenizer tok = load("llama-spm");
        int[] prompt = tok.encode("Hello, my name is", true, false);
        int piece = tok.tokenId("▁piece");
        StreamingDetokenizer d = tok.streamingDetokenizer(prompt, false);
        assertThat(d.accept(piece) + d.accept(piece) + d.flush()).isEqualTo(" piece piece");
        // Without context the first space goes, as decoding those tokens alone drops it.
        StreamingDetokenizer alone = tok.streamingDetokenizer(false);
        assertThat(alone.accept(piece) + alone.flush()).isEqualTo("piece");
        // A prompt of nothing but BOS renders nothing: the continuation starts the text.
        StreamingDetokenizer afterBos = tok.streamingDetokenizer(new int[] {tok.bosTokenId()}, false);
        assertThat(afterBos.accept(piece) + afterBos.flush()).isEqualTo("piece");
    }

    @Test
    void aCharacterSplitAcrossThePromptEndIsCompletedByTheContinuation() throws Exception {
        Tokenizer tok = load("llama-spm");
        byte[] e = "é".getBytes(StandardCharsets.UTF_8);
        int first = tok.tokenId(String.format("<0x%02X>", e[0] & 0xff));
        int second = tok.tokenId(String.format("<0x%02X>", e[1] & 0xff));
        int[] caf = tok.encode("caf", true, false);
        int[] prompt = Arrays.copyOf(caf, caf.length + 1);
        prompt[caf.length] = first;
        StreamingDetokenizer d = tok.streamingDetokenizer(prompt, false);
        assertThat(d.accept(second) + d.flush()).isEqualTo("é");
    }

    @Test
    void tokenBytesAreTheRawBytesOfEachToken() throws Exception {
        Tokenizer spm = load("llama-spm");
        assertThat(spm.tokenBytes(spm.tokenId("<0xE6>"))).containsExactly(0xE6);
        assertThat(spm.tokenBytes(spm.tokenId("<0xE7>"))).containsExactly(0xE7);
        assertThat(new String(spm.tokenBytes(spm.tokenId("▁piece")), StandardCharsets.UTF_8)).isEqualTo(" piece");
        Tokenizer bpe = load("gpt-2");
        int ge = bpe.encode("日", false, false)[0]; // a byte-level token holding the first byte(s) of 日
        assertThat(bpe.tokenBytes(ge)[0] & 0xff).isEqualTo(0xE6);
    }

    @Test
    void endOfGenerationIdsAreEveryEndingToken() throws Exception {
        Tokenizer tok = load("llama3");
        int[] eog = tok.endOfGenerationIds();
        assertThat(eog).contains(tok.tokenId("<|eot_id|>"), tok.eosTokenId());
        for (int id : eog) assertThat(tok.isEndOfGeneration(id)).isTrue();
        assertThat(new Delegate(tok).endOfGenerationIds()).containsExactly(eog);
    }

    private static String stream(StreamingDetokenizer d, int[] ids) {
        StringBuilder b = new StringBuilder();
        for (int id : ids) b.append(d.accept(id));
        return b.append(d.flush()).toString();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static boolean startsWith(int[] a, int[] prefix) {
        return a.length >= prefix.length && Arrays.equals(a, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** A tokenizer that only forwards the abstract methods, so the interface's defaults are what get tested. */
    private record Delegate(Tokenizer t) implements Tokenizer {
        public int[] encode(String text, boolean addBos, boolean parseSpecial) { return t.encode(text, addBos, parseSpecial); }
        public String decode(int[] ids, boolean renderSpecial) { return t.decode(ids, renderSpecial); }
        public StreamingDetokenizer streamingDetokenizer(boolean renderSpecial) { return t.streamingDetokenizer(renderSpecial); }
        public int vocabSize() { return t.vocabSize(); }
        public int bosTokenId() { return t.bosTokenId(); }
        public int eosTokenId() { return t.eosTokenId(); }
        public boolean isEndOfGeneration(int id) { return t.isEndOfGeneration(id); }
        public boolean addBosByDefault() { return t.addBosByDefault(); }
        public String tokenText(int id) { return t.tokenText(id); }
        public int tokenId(String tokenText) { return t.tokenId(tokenText); }
    }
}
