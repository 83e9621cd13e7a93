package ai.armature.serving;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.serving.runner.LlamaModelRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The determinism requirement with the real engine: a greedy request yields the same tokens alone and inside a
 * batch of 8 random requests (greedy and sampled), with and without a prefix-cache hit, with chunked prefill on
 * and off, through the real scheduler, paged KV cache and batched forward passes.
 */
class LlamaRunnerDeterminismTest {

    @TempDir
    static Path dir;
    private static GgufFile file;
    private static LlamaModel model;
    private static int vocab;

    @BeforeAll
    static void writeModel() throws Exception {
        Path path = dir.resolve("tiny.gguf");
        // F32 weights: with quantized weights (Q8_0, Q4_0, K-quants) a product with up to the kernels' fused width of
        // vectors (decode steps, short prefill chunks) runs on int8-quantized activations and a wider one in float, so
        // a token's logits depend on how the scheduler batched it, which a request's neighbours does not fix. F32's paths agree to float
        // rounding, which leaves this test to check the serving path itself.
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(ai.armature.engine.tensor.GgmlType.F32), path);
        file = GgufReader.open(path);
        model = LlamaModel.load(file);
        vocab = model.config().vocabSize();
    }

    @AfterAll
    static void close() {
        file.close();
    }

    @ParameterizedTest(name = "chunked={0} prefixHit={1}")
    @CsvSource({"false,false", "true,false", "false,true", "true,true"})
    void greedyRequestIsTheSameAloneAndInABatch(boolean chunked, boolean prefixHit) {
        SplittableRandom rnd = new SplittableRandom(11);
        int[] prompt = randomPrompt(rnd, 70, vocab);
        GenerateRequest target = greedy("target", prompt, 24);
        // Chunked: a 24-token budget splits every prompt; unchunked: a step holds all prompts at once.
        ServingConfig cfg = new ServingConfig(16, chunked ? 24 : 1024, 16, 2048L * runner().kvBytesPerToken(), 1000, KvDtype.F16);

        Harness alone = new Harness(runner(), cfg);
        alone.add(target);
        alone.runToIdle();

        Harness batch = new Harness(runner(), cfg);
        if (prefixHit) {
            batch.add(greedy("warm", Harness.concat(java.util.Arrays.copyOf(prompt, 48), randomPrompt(rnd, 5, vocab)), 2));
            batch.runToIdle();
        }
        for (int i = 0; i < 8; i++) {
            if (i == 4) batch.add(target);
            SamplingParams p = i % 2 == 0 ? SamplingParams.GREEDY : new SamplingParams(0.8, 0.9, 40, 0, 1.1, 0, 0, rnd.nextLong(), -1);
            batch.add(new GenerateRequest("other" + i, randomPrompt(rnd, 10 + rnd.nextInt(90), vocab), p,
                    new StopConditions(5 + rnd.nextInt(20), null, true, false)));
        }
        batch.runToIdle();

        assertThat(batch.tokens("target")).hasSize(24).containsExactly(alone.tokens("target"));
        assertThat(batch.last("target").usage().cachedPromptTokens()).isEqualTo(prefixHit ? 48 : 0);
    }

    /**
     * Prompt logprobs from chunked, batched prefills equal the logprobs computed from a single sequence's logits at
     * each prefix (the definition), and the forbidden end tokens of min_tokens are never sampled.
     */
    @org.junit.jupiter.api.Test
    void promptLogprobsMatchLogitsOfEachPrefixAndMinTokensMasksTheEndIds() {
        SplittableRandom rnd = new SplittableRandom(12);
        int[] prompt = randomPrompt(rnd, 30, vocab);
        ServingConfig cfg = new ServingConfig(16, 12, 16, 2048L * runner().kvBytesPerToken(), 1000, KvDtype.F16);
        Harness h = new Harness(runner(), cfg);
        h.add(greedy("neighbour", randomPrompt(rnd, 20, vocab), 4));
        h.add(new GenerateRequest("scored", prompt, SamplingParams.GREEDY.withPromptLogprobs(2), new StopConditions(1, null, true, false)));
        h.runToIdle();
        java.util.List<ai.armature.protocol.TokenLogprob> lps = null;
        for (var o : h.outputs.get("scored")) if (o.promptLogprobs() != null) lps = o.promptLogprobs();
        assertThat(lps).hasSize(prompt.length);
        for (int p = 1; p < prompt.length; p++) {
            float[] logits;
            try (var seq = new ai.armature.engine.model.SingleSequence(model, 64, 64, KvDtype.F16)) {
                logits = seq.prefill(java.util.Arrays.copyOf(prompt, p)).clone();
            }
            var expected = ai.armature.engine.sampling.Sampler.promptLogprob(logits, 0, vocab, prompt[p], 2);
            var got = lps.get(p);
            assertThat(got.tokenId()).isEqualTo(prompt[p]);
            assertThat((double) got.logprob()).as("position " + p).isCloseTo(expected.logprob(), org.assertj.core.api.Assertions.within(1e-3));
            assertThat(got.topTokenIds()).hasSize(2);
            assertThat(Math.abs(got.rank() - expected.rank())).as("rank at " + p).isLessThanOrEqualTo(1);
        }
        // The greedy continuation of the prompt, then the same request with its first two tokens as end ids and min_tokens 3.
        Harness free = new Harness(runner(), cfg);
        free.add(greedy("free", prompt, 6));
        free.runToIdle();
        int[] greedy = free.tokens("free");
        int[] ends = {greedy[0], greedy[1]};
        Harness masked = new Harness(new LlamaModelRunner(model, "tiny", ends, KvDtype.F16), cfg);
        masked.add(new GenerateRequest("m", prompt, SamplingParams.GREEDY, new StopConditions(6, null, false, false, 3)));
        masked.runToIdle();
        int[] out = masked.tokens("m");
        assertThat(out.length).isGreaterThanOrEqualTo(3);
        assertThat(java.util.Arrays.copyOf(out, 3)).doesNotContain(ends);
    }

    private static LlamaModelRunner runner() {
        return new LlamaModelRunner(model, "tiny", new int[0], KvDtype.F16);
    }
}
