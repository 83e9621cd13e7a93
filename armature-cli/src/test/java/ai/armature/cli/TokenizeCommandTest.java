package ai.armature.cli;

import ai.armature.engine.gguf.GgufArray;
import ai.armature.engine.gguf.GgufValueType;
import ai.armature.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code armature tokenize} / {@code detokenize} on a tiny SentencePiece GGUF and a tiny tokenizer.json made here. */
class TokenizeCommandTest {

    @TempDir
    Path dir;

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        CommandLine cl = ArmatureCli.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    /** ids: 0 <unk>, 1 <s>, 2 </s>, 3 <|end|>, 4.. byte tokens, then pieces. */
    private Path spmGguf() throws IOException {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>", "<|end|>"));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3, 3));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        String[] pieces = {"▁", "h", "i", "▁h", "▁hi"};
        for (String p : pieces) {
            tokens.add(p);
            types.add(1);
        }
        float[] scores = new float[tokens.size()];
        for (int i = 0; i < pieces.length; i++) scores[260 + i] = -i;
        int[] typeArr = types.stream().mapToInt(Integer::intValue).toArray();
        Path p = dir.resolve("spm.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("tokenizer.ggml.model", "llama")
                .putStringArray("tokenizer.ggml.tokens", tokens.toArray(new String[0]))
                .putArray("tokenizer.ggml.scores", new GgufArray(GgufValueType.FLOAT32, scores))
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, typeArr))
                .putUint32("tokenizer.ggml.bos_token_id", 1)
                .putUint32("tokenizer.ggml.eos_token_id", 2)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .write(p);
        return p;
    }

    @Test
    void tokenizesAndDetokenizesWithAGgufVocabulary() throws IOException {
        Path m = spmGguf();
        assertThat(run("tokenize", "--model", m.toString(), "hi hi").out().strip()).isEqualTo("264 264");
        assertThat(run("tokenize", "--model", m.toString(), "--bos", "hi").out().strip()).isEqualTo("1 264");
        // Without --special the control token is plain text (here: byte fallback); with it, one id.
        assertThat(run("tokenize", "--model", m.toString(), "hi<|end|>").out().strip()).doesNotContain(" 3 ").doesNotEndWith(" 3");
        assertThat(run("tokenize", "--model", m.toString(), "--special", "hi<|end|>").out().strip()).isEqualTo("264 3");
        assertThat(run("detokenize", "--model", m.toString(), "1", "264", "264").out()).isEqualTo("<s> hi hi\n");
        assertThat(run("detokenize", "--model", m.toString(), "--skip-special", "1,264,264").out()).isEqualTo("hi hi\n");
    }

    @Test
    void tokenizesWithATokenizerJsonDirectory() throws IOException {
        StringBuilder vocab = new StringBuilder();
        String printable = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
        int id = 0;
        for (char c : printable.toCharArray()) {
            vocab.append(id == 0 ? "" : ",").append('"').append(c == '"' || c == '\\' ? "\\" + c : String.valueOf(c)).append("\":").append(id++);
        }
        vocab.append(",\"Ġ\":").append(id++).append(",\"hi\":").append(id++).append(",\"Ġhi\":").append(id++);
        int endId = id;
        String json = """
                {"normalizer": null,
                 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
                 "added_tokens": [{"id": %d, "content": "<|end|>", "special": true}],
                 "model": {"type": "BPE", "vocab": {%s}, "merges": ["h i", "Ġ hi"]}}
                """.formatted(endId, vocab);
        Files.writeString(dir.resolve("tokenizer.json"), json);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|end|>\"}");
        int hi = endId - 2, spaceHi = endId - 1;
        assertThat(run("tokenize", "--model", dir.toString(), "hi hi").out().strip()).isEqualTo(hi + " " + spaceHi);
        assertThat(run("tokenize", "--model", dir.toString(), "--special", "hi<|end|>").out().strip()).isEqualTo(hi + " " + endId);
        assertThat(run("detokenize", "--model", dir.resolve("tokenizer.json").toString(), String.valueOf(hi), String.valueOf(spaceHi)).out())
                .isEqualTo("hi hi\n");
    }

    @Test
    void userErrorsAreOneLine() throws IOException {
        Path m = spmGguf();
        Result missing = run("tokenize", "--model", dir.resolve("nope.gguf").toString(), "x");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).startsWith("armature: no such file");
        Result badId = run("detokenize", "--model", m.toString(), "999999");
        assertThat(badId.exit()).isEqualTo(1);
        assertThat(badId.err().strip()).isEqualTo("armature: token id 999999 is outside the vocabulary (0..264)");
        Result notNumber = run("detokenize", "--model", m.toString(), "abc");
        assertThat(notNumber.err().strip()).isEqualTo("armature: not a token id: 'abc'");
        Files.writeString(dir.resolve("bad.json"), "{\"model\": {\"type\": \"Unigram\"}}");
        Result unsupported = run("tokenize", "--model", dir.resolve("bad.json").toString(), "x");
        assertThat(unsupported.exit()).isEqualTo(1);
        assertThat(unsupported.err()).contains("unsupported model type 'Unigram'");
    }
}
