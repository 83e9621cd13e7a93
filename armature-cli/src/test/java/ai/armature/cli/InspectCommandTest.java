package ai.armature.cli;

import ai.armature.engine.gguf.GgufArray;
import ai.armature.engine.gguf.GgufValueType;
import ai.armature.engine.gguf.GgufWriter;
import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class InspectCommandTest {

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

    private Path model() throws IOException {
        Path p = dir.resolve("tiny.gguf");
        String[] tokens = new String[100];
        for (int i = 0; i < tokens.length; i++) tokens[i] = "tok" + i;
        new GgufWriter()
                .putString("general.architecture", "llama").putString("general.name", "Tiny Test")
                .putUint32("llama.context_length", 2048).putUint32("llama.embedding_length", 64)
                .putUint32("llama.block_count", 2).putUint32("llama.feed_forward_length", 256)
                .putUint32("llama.attention.head_count", 4).putUint32("llama.attention.head_count_kv", 2)
                .putFloat32("llama.rope.freq_base", 10000f).putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .putString("tokenizer.ggml.model", "gpt2").putString("tokenizer.ggml.pre", "llama-bpe")
                .putStringArray("tokenizer.ggml.tokens", tokens)
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, new int[100]))
                .putString("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}\n{% endfor %}")
                .addTensor("token_embd.weight", new long[]{64, 100}, GgmlType.Q8_0, new byte[(int) GgmlType.Q8_0.bytesFor(6400)])
                .addTensor("blk.0.attn_norm.weight", new long[]{64}, new float[64])
                .addTensor("blk.1.attn_norm.weight", new long[]{64}, new float[64])
                .write(p);
        return p;
    }

    @Test
    void summarisesAModel() throws IOException {
        Path p = model();
        Result r = run("inspect", p.toString());
        assertThat(r.exit).as(r.err).isZero();
        assertThat(r.out)
                .containsPattern("GGUF version +3")
                .containsPattern("architecture +llama")
                .containsPattern("name +Tiny Test")
                .containsPattern("context length +2048")
                .containsPattern("embedding length +64")
                .containsPattern("block count +2")
                .containsPattern("feed forward length +256")
                .containsPattern("attention heads +4")
                .containsPattern("attention kv heads +2")
                .containsPattern("rope freq base +10000.0")
                .containsPattern("rms norm epsilon +1.0E-5")
                .containsPattern("vocab size +100")
                .containsPattern("tokenizer +gpt2 \\(pre-tokenizer: llama-bpe\\)")
                .containsPattern("chat template +present \\(\\d+ chars\\)")
                .containsPattern("tensors +3")
                .containsPattern("F32 +2 +512 +128")
                .containsPattern("Q8_0 +1 +6,800 +6,400")
                .containsPattern("total +3 +7,312 +6,528");
        assertThat(r.out).doesNotContain("metadata:");
    }

    @Test
    void dumpsMetadataAndTensorsOnRequest() throws IOException {
        Path p = model();
        Result r = run("inspect", "--metadata", "--tensors", p.toString());
        assertThat(r.exit).as(r.err).isZero();
        assertThat(r.out).contains("metadata:")
                .containsPattern("tokenizer.ggml.tokens +\\[STRING\\] +100 elements: \\[\"tok0\", \"tok1\", .*\"tok7\", \\.\\.\\.\\]")
                .containsPattern("tokenizer.chat_template +STRING +\"\\{% for m in messages %\\}\\{\\{ m.content \\}\\}\\\\n\\{% endfor %\\}\"")
                .containsPattern("llama.context_length +UINT32 +2048")
                .contains("tensors:")
                .containsPattern("token_embd.weight +Q8_0 +\\[64, 100\\] +6,800");
    }

    @Test
    void badInputIsOneLine() throws IOException {
        Result missing = run("inspect", dir.resolve("nope.gguf").toString());
        assertThat(missing.exit).isEqualTo(1);
        assertThat(missing.err.strip()).isEqualTo("armature: " + dir.resolve("nope.gguf") + ": no such file");

        Path bad = dir.resolve("bad.gguf");
        Files.writeString(bad, "this is not a model");
        Result r = run("inspect", bad.toString());
        assertThat(r.exit).isEqualTo(1);
        assertThat(r.err.strip()).startsWith("armature: " + bad + ": not a GGUF file").doesNotContain("\n");
    }
}
