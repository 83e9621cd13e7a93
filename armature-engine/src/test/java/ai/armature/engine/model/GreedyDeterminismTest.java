package ai.armature.engine.model;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Greedy decoding repeats bit for bit whichever HotSpot tier runs the kernels. A seeded demo model is decoded
 * greedily in a child JVM limited to C1 (where the Vector API runs its Java fallbacks: {@code Math.exp} per lane,
 * lanes summed in order) and in a child JVM without tiers that compiles with C2 after 100 calls, in the foreground, over
 * several runs (the first partly interpreted, the later ones C2 with its intrinsics); every run must give the same
 * tokens and the same bits in every logit. With {@code lanewise(EXP)} and float {@code reduceLanes(ADD)} in the
 * kernels, the C2 runs' logits differed from the C1 one in both cases.
 *
 * <p>Q8_0 prefills in chunks of 4 (within its fused width of 8, so on the int8 decode kernels); F32 prefills one
 * token at a time (its matrix-vector product) and in chunks of 4 ({@code FloatGemm}'s tiled kernels, whose lane
 * sums go through {@code VectorOps.sumLanes} too).
 */
class GreedyDeterminismTest {
    private static final int STEPS = 12;
    private static final int COMPILED_RUNS = 4;
    private static final String[] PROMPT = {"1", "17", "42", "299", "5", "100", "250", "3", "77"};

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} prefill chunk {1}")
    @CsvSource({"Q8_0, 4", "F32, 1", "F32, 4"})
    void greedyTokensAndLogitBitsAreTheSameInC1AndC2(GgmlType type, int chunk) throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(LlamaModelTest.spec(Architecture.LLAMA, type, null, false), file);
        List<String> c1 = run(file, chunk, 1, "-XX:TieredStopAtLevel=1");
        List<String> c2 = run(file, chunk, COMPILED_RUNS, "-XX:-TieredCompilation", "-XX:CompileThreshold=100", "-Xbatch");
        assertThat(c1).hasSize(1);
        assertThat(c2).hasSize(COMPILED_RUNS);
        String expected = c1.get(0);
        for (int i = 0; i < c2.size(); i++) {
            assertThat(c2.get(i)).as("run %d of the C2 JVM against the C1 JVM", i).isEqualTo(expected);
        }
    }

    /** The runs' "tokens [...] logits digest" lines of a child {@link GreedyRun}. */
    private static List<String> run(Path model, int chunk, int runs, String... jitFlags) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-Darmature.threads=2"));
        cmd.addAll(List.of(jitFlags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), GreedyRun.class.getName(),
                model.toString(), Integer.toString(STEPS), Integer.toString(runs), Integer.toString(chunk)));
        cmd.addAll(List.of(PROMPT));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out.lines().filter(l -> l.startsWith("run ")).map(l -> l.substring(l.indexOf(" tokens") + 1)).toList();
    }
}
