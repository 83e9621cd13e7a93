package ai.armature.serving;

import static ai.armature.serving.Harness.config;
import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.mock.SimClock;
import ai.armature.serving.runner.ModelRunner;

/**
 * The same greedy request gives identical tokens alone and inside a batch of 8 other random requests, with and
 * without prefix-cache hits, with chunked prefill on and off; with the K/V-checking runner and with the mocker.
 */
class DeterminismTest {

    private static final int VOCAB = 2000;

    @ParameterizedTest(name = "runner={0} chunked={1} prefixHit={2}")
    @CsvSource({"checking,false,false", "checking,true,false", "checking,false,true", "checking,true,true",
            "mock,false,false", "mock,true,true"})
    void greedyRequestIsTheSameAloneAndInABatch(String runnerKind, boolean chunked, boolean prefixHit) {
        SplittableRandom rnd = new SplittableRandom(77);
        int[] prompt = randomPrompt(rnd, 150, VOCAB);
        GenerateRequest target = greedy("target", prompt, 24);
        // Chunked: a 64-token budget splits every prompt; unchunked: the budget holds all prompts at once.
        ServingConfig cfg = config(16, chunked ? 64 : 4096, 16, 4096);

        Harness alone = new Harness(runner(runnerKind), cfg);
        alone.add(target);
        alone.runToIdle();

        Harness batch = new Harness(runner(runnerKind), cfg);
        if (prefixHit) {
            // Another request with the same 128-token prefix runs first, so the target reuses its cached blocks.
            batch.add(greedy("warm", Harness.concat(java.util.Arrays.copyOf(prompt, 128), randomPrompt(rnd, 7, VOCAB)), 2));
            batch.runToIdle();
        }
        for (int i = 0; i < 4; i++) batch.add(other(rnd, i));
        batch.add(target);
        for (int i = 4; i < 8; i++) batch.add(other(rnd, i));
        batch.runToIdle();

        assertThat(batch.tokens("target")).hasSize(24).containsExactly(alone.tokens("target"));
        assertThat(batch.last("target").usage().cachedPromptTokens()).isEqualTo(prefixHit ? 128 : 0);
    }

    private static GenerateRequest other(SplittableRandom rnd, int i) {
        SamplingParams p = i % 2 == 0 ? SamplingParams.GREEDY : new SamplingParams(0.8, 0.9, 40, 0, 1.1, 0, 0, rnd.nextLong(), -1);
        return new GenerateRequest("other" + i, randomPrompt(rnd, 20 + rnd.nextInt(180), VOCAB), p,
                new StopConditions(5 + rnd.nextInt(30), null, true, false));
    }

    private static ModelRunner runner(String kind) {
        if (kind.equals("checking")) return new CheckingRunner(VOCAB, 4096);
        MockProfile p = MockProfile.parse("vocab_size=" + VOCAB + ",eos_token_ids=0,kv_bytes_per_token=1,max_context=4096");
        return new MockModelRunner(p, new SimClock());
    }
}
