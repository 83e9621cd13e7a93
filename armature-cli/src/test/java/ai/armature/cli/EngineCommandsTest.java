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
        // Process CPU time may tick in 10 ms steps: 8 tokens of the tiny model can read 0.
        assertThat(engine.path("generation_cpu_seconds_per_token").isNumber()).isTrue();
        assertThat(engine.path("generation_cpu_seconds_per_token").asDouble()).isNotNegative();

        Result tooDeep = run("bench", "engine", "--model", model.toString(), "--depth", "1000000", "--runs", "1");
        assertThat(tooDeep.exit()).isNotZero();
        assertThat(tooDeep.err()).contains("must fit the model's context");

        Result s = run("bench", "serving", "--model", model.toString(), "--concurrency", "1,2,3", "--prompt-tokens", "20",
                "--output-tokens", "5", "--prefix-tokens", "64", "--threads", "1", "--json");
        assertThat(s.exit()).as(s.err()).isZero();
        assertThat(s.err()).contains("warming up (not measured): concurrency 3,2,1, 16-token prompts, 8 output tokens");
        JsonNode serving = new ObjectMapper().readTree(s.out());
        assertThat(serving.path("threads").asInt()).isEqualTo(1);
        // The warm-up ran every level once with its own short requests; each measured level counts only its own.
        assertThat(serving.path("warmup").path("ran").asBoolean()).isTrue();
        assertThat(serving.path("warmup").path("requests").asInt()).isEqualTo(1 + 2 + 3);
        assertThat(serving.path("warmup").path("output_tokens").asInt()).isEqualTo(8);
        assertThat(serving.path("levels")).hasSize(3);
        for (int i = 0; i < 3; i++) {
            JsonNode level = serving.path("levels").get(i);
            int c = i + 1;
            assertThat(level.path("concurrency").asInt()).isEqualTo(c);
            assertThat(level.path("requests").asInt()).as("requests at c=%d", c).isEqualTo(c);
            assertThat(level.path("generated_tokens").asLong()).as("tokens at c=%d", c).isEqualTo(c * 5L);
            // The decode phase starts once every request has its first token: at most 4 more tokens each.
            assertThat(level.path("decode_tokens").asLong()).isBetween(1L, c * 4L);
            assertThat(level.path("generation_tokens_per_second").asDouble()).isPositive();
            assertThat(level.path("decode_cpu_seconds_per_token").asDouble()).isNotNegative(); // may tick in 10 ms steps
            assertThat(level.path("jit_compile_seconds").asDouble()).isNotNegative();
        }
        assertThat(serving.path("ttft_cached_prefix_seconds").asDouble()).isPositive();
        assertThat(serving.path("ttft_uncached_seconds").asDouble()).isPositive();
    }

    @Test
    void benchServingWithoutWarmupAndItsTextTable() throws Exception {
        Result cold = run("bench", "serving", "--model", model.toString(), "--concurrency", "2", "--prompt-tokens", "16",
                "--output-tokens", "3", "--prefix-tokens", "32", "--no-warmup", "--json");
        assertThat(cold.exit()).as(cold.err()).isZero();
        assertThat(cold.err()).doesNotContain("warming up");
        JsonNode serving = new ObjectMapper().readTree(cold.out());
        assertThat(serving.path("warmup").path("ran").asBoolean()).isFalse();
        assertThat(serving.path("warmup").path("requests").asInt()).isZero();
        assertThat(serving.path("levels").get(0).path("requests").asInt()).isEqualTo(2);
        assertThat(serving.path("threads").asInt()).isEqualTo(ai.armature.engine.tensor.Parallel.defaultPool().threads());

        Result text = run("bench", "serving", "--model", model.toString(), "--concurrency", "1,2", "--prompt-tokens", "16",
                "--output-tokens", "3", "--prefix-tokens", "32");
        assertThat(text.exit()).as(text.err()).isZero();
        assertThat(text.out()).contains("| concurrency | decode tok/s (S_TG) |")
                .containsPattern("warm-up \\(not measured\\): 3 requests, 16-token prompts and 8 output tokens")
                .containsPattern("\\| 2 \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+x \\|");
    }

    @Test
    void benchCommandsRefuseBadThreadCounts() {
        int cores = Runtime.getRuntime().availableProcessors();
        for (String command : new String[]{"serving", "engine"}) {
            for (String bad : new String[]{"0", "-1", Integer.toString(cores + 1)}) {
                Result r = run("bench", command, "--model", model.toString(), "--threads", bad);
                assertThat(r.exit()).as(command + " " + bad).isEqualTo(1);
                assertThat(r.err()).contains("armature: --threads must be between 1 and this machine's " + cores + " cores, got " + bad);
            }
        }
        Result r = run("bench", "serving", "--model", model.toString(), "--threads", "two");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--threads");
    }
}
