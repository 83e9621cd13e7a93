package ai.armature.serving;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.Migration;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.Usage;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.mock.SimClock;
import ai.armature.serving.runner.LlamaModelRunner;
import ai.armature.serving.runner.ModelRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What request migration relies on in a worker: a request resumed on a fresh worker with its prompt plus the first
 * k generated tokens ({@link Migration}, the remaining max tokens, the same sampling parameters) continues with
 * exactly the tokens the uninterrupted request generates, for greedy and seeded sampling with presence, frequency
 * and repetition penalties (which must see the carried tokens as generated), with the real engine and the mocker;
 * and its usage counts the client's prompt and every generated token once.
 */
class ResumedRequestTest {

    @TempDir
    static Path dir;
    private static GgufFile file;
    private static LlamaModel model;

    @BeforeAll
    static void writeModel() throws Exception {
        Path path = dir.resolve("tiny.gguf");
        // F32 weights: with quantized weights (Q8_0, Q4_0, K-quants) a product with up to the kernels' fused width of
        // vectors (decode steps, short prefill chunks) runs on int8-quantized activations and a wider one in float, so
        // a token's logits depend on how the scheduler batched it, which a migration does not fix. F32's paths agree to float
        // rounding, which leaves this test to check the serving path itself.
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(ai.armature.engine.tensor.GgmlType.F32), path);
        file = GgufReader.open(path);
        model = LlamaModel.load(file);
    }

    @AfterAll
    static void close() {
        file.close();
    }

    @ParameterizedTest(name = "runner={0} sampling={1} resumeAfter={2}")
    @CsvSource({"llama,greedy,1", "llama,greedy,9", "llama,seeded,5", "llama,penalties,7", "llama,penalties,15",
            "mock,greedy,6", "mock,seeded,3", "mock,seeded,11"})
    void aResumedRequestContinuesExactlyAsTheUninterruptedOne(String runner, String sampling, int k) {
        int total = 16;
        SamplingParams params = switch (sampling) {
            case "greedy" -> SamplingParams.GREEDY;
            case "seeded" -> new SamplingParams(0.9, 0.95, 40, 0, 1, 0, 0, 1234, -1);
            default -> new SamplingParams(1.0, 1, 0, 0, 1.3, 0.8, 0.6, 99, -1);
        };
        int vocab = runner.equals("llama") ? model.config().vocabSize() : 500;
        int[] prompt = randomPrompt(new SplittableRandom(5), 37, vocab);
        StopConditions stop = new StopConditions(total, null, true, false);

        Harness whole = new Harness(runner(runner), config(runner));
        whole.add(new GenerateRequest("whole", prompt, params, stop));
        whole.runToIdle();
        int[] expected = whole.tokens("whole");
        assertThat(expected).hasSize(total);

        int[] resumedPrompt = Harness.concat(prompt, Arrays.copyOf(expected, k));
        Harness other = new Harness(runner(runner), config(runner));
        // A busy batch on the new worker changes nothing either.
        other.add(new GenerateRequest("noise", randomPrompt(new SplittableRandom(9), 20, vocab),
                new SamplingParams(0.7, 1, 0, 0, 1, 0, 0, 7, -1), new StopConditions(30, null, true, false)));
        other.add(new GenerateRequest("resumed", resumedPrompt, params, new StopConditions(total - k, null, true, false), 0, null,
                new Migration(k, 1, Set.of("w0"))));
        other.runToIdle();

        int[] rest = other.tokens("resumed");
        assertThat(Harness.concat(Arrays.copyOf(expected, k), rest)).containsExactly(expected);
        GenerateOutput last = other.last("resumed");
        assertThat(last.usage()).isEqualTo(new Usage(prompt.length, 0, total));
    }

    private static ServingConfig config(String runner) {
        return new ServingConfig(16, 32, 8, 1024L * runner(runner).kvBytesPerToken(), 100, KvDtype.F16);
    }

    private static ModelRunner runner(String kind) {
        if (kind.equals("llama")) return new LlamaModelRunner(model, "tiny", new int[0], KvDtype.F16);
        return new MockModelRunner(MockProfile.parse("vocab_size=500,eos_token_ids=0,kv_bytes_per_token=1,max_context=4096"), new SimClock());
    }
}
