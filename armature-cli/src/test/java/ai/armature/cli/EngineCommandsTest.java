package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** run, demo-model, bench engine and bench serving on a tiny generated model, in-process. */
class EngineCommandsTest {

    @TempDir
    static Path dir;
    private static Path model;

    private record Result(int exit, String out, String err) {
    }

    /** Runs a command with System.out and System.err captured (set before the command line picks its writers). */
    private static Result run(String... args) {
        PrintStream stdout = System.out, stderr = System.err;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(), err = new java.io.ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            int exit = ArmatureCli.commandLine().execute(args);
            System.out.flush();
            System.err.flush();
            return new Result(exit, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString(java.nio.charset.StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("tiny.gguf");
        Result r = run("demo-model", "--preset", "tiny", "--out", model.toString());
        assertThat(r.exit()).isZero();
        assertThat(model).exists();
    }

    @Test
    void runStreamsAReproducibleCompletion() {
        Result a = run("run", "--model", model.toString(), "--prompt", "the model", "--max-tokens", "12", "--seed", "5");
        Result b = run("run", "--model", model.toString(), "--prompt", "the model", "--max-tokens", "12", "--seed", "5");
        assertThat(a.exit()).as(a.err()).isZero();
        assertThat(a.out()).as(a.err()).isNotBlank().isEqualTo(b.out());
        assertThat(a.err()).contains("is a demo model").containsPattern("prompt: \\d+ tokens, [0-9.]+ tokens/s; generated: \\d+ tokens");
    }

    @Test
    void badInputGivesOneLine() throws Exception {
        Result r = run("run", "--model", model.toString(), "--prompt", "x", "--max-tokens", "0");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("armature: --max-tokens must be at least 1");

        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, new byte[]{'G', 'G', 'U', 'F', 3, 0, 0, 0});
        r = run("run", "--model", bad.toString(), "--prompt", "x");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().lines().filter(l -> l.startsWith("armature: ")).toList()).hasSize(1);
        assertThat(r.err()).contains("armature: " + bad);

        r = run("demo-model", "--preset", "huge");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("unknown preset 'huge'");
    }

    @Test
    void benchEngineAndServingReportTheirFigures() throws Exception {
        Result e = run("bench", "engine", "--model", model.toString(), "--prompt-tokens", "32", "--gen-tokens", "8", "--depth", "24",
                "--runs", "1", "--json");
        assertThat(e.exit()).isZero();
        JsonNode engine = new ObjectMapper().readTree(e.out());
        assertThat(engine.path("depth").asInt()).isEqualTo(24);
        for (String key : new String[]{"prompt_tokens_per_second", "generation_tokens_per_second",
                "memory_bandwidth_bytes_per_second", "roofline_fraction"}) {
            assertThat(engine.path(key).asDouble()).as(key).isPositive();
        }

        Result tooDeep = run("bench", "engine", "--model", model.toString(), "--depth", "1000000", "--runs", "1");
        assertThat(tooDeep.exit()).isNotZero();
        assertThat(tooDeep.err()).contains("must fit the model's context");

        Result s = run("bench", "serving", "--model", model.toString(), "--concurrency", "1,2", "--prompt-tokens", "16",
                "--output-tokens", "4", "--prefix-tokens", "64", "--json");
        assertThat(s.exit()).isZero();
        JsonNode serving = new ObjectMapper().readTree(s.out());
        assertThat(serving.path("levels")).hasSize(2);
        assertThat(serving.path("levels").get(1).path("concurrency").asInt()).isEqualTo(2);
        assertThat(serving.path("levels").get(1).path("generation_tokens_per_second").asDouble()).isPositive();
        assertThat(serving.path("ttft_cached_prefix_seconds").asDouble()).isPositive();
        assertThat(serving.path("ttft_uncached_seconds").asDouble()).isPositive();
    }
}
