package ai.armature.serving;

import static ai.armature.serving.Harness.config;
import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;

class SchedulerTest {

    private static final int VOCAB = 1000;

    @Test
    void longPromptIsChunkedWithinTheTokenBudget() {
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(16, 32, 8, 1024));
        h.add(greedy("a", randomPrompt(new SplittableRandom(1), 100, VOCAB), 3));
        h.runToIdle();

        List<CheckingRunner.Work> firstSeq = runner.steps.stream().map(List::getFirst).toList();
        assertThat(firstSeq).extracting(CheckingRunner.Work::count).containsExactly(32, 32, 32, 4, 1, 1);
        assertThat(firstSeq).extracting(CheckingRunner.Work::sample).containsExactly(false, false, false, true, true, true);
        assertThat(h.tokens("a")).hasSize(3);
        assertThat(h.last("a").finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void statsCountThePromptTokensStillToPrefill() {
        Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 32, 8, 1024));
        h.add(greedy("a", randomPrompt(new SplittableRandom(2), 100, VOCAB), 3));
        h.add(greedy("b", randomPrompt(new SplittableRandom(3), 20, VOCAB), 3));
        h.core.step(); // 32 tokens of a; b waits
        assertThat(h.core.stats().pendingPrefillTokens()).isEqualTo(68 + 20);
        h.runToIdle();
        assertThat(h.core.stats().pendingPrefillTokens()).isZero();
    }

    @Test
    void decodesGoFirstAndPrefillTakesWhatIsLeftOfTheBudget() {
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(16, 32, 8, 2048));
        SplittableRandom rnd = new SplittableRandom(2);
        for (int i = 0; i < 3; i++) h.add(greedy("d" + i, randomPrompt(rnd, 5, VOCAB), 40));
        h.core.step(); // three prefills of 5 tokens
        h.core.step(); // three decodes
        h.add(greedy("long", randomPrompt(rnd, 200, VOCAB), 2));
        int before = runner.steps.size();
        h.runToIdle();

        List<List<CheckingRunner.Work>> during = runner.steps.subList(before, before + 7);
        for (List<CheckingRunner.Work> step : during) {
            int total = step.stream().mapToInt(CheckingRunner.Work::count).sum();
            assertThat(total).isLessThanOrEqualTo(32);
            // the three decodes come first, one token each, then the prompt chunk fills the budget
            assertThat(step).hasSize(4);
            assertThat(step.subList(0, 3)).allMatch(w -> w.count() == 1 && w.sample());
            assertThat(step.get(3).count()).isEqualTo(Math.min(29, 200 - 29 * during.indexOf(step)));
        }
        for (List<CheckingRunner.Work> step : runner.steps) {
            assertThat(step.stream().mapToInt(CheckingRunner.Work::count).sum()).isLessThanOrEqualTo(32);
        }
        assertThat(h.tokens("long")).hasSize(2);
    }

    @Test
    void maxSeqsLimitsRunningSequences() {
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(16, 512, 2, 2048));
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < 5; i++) h.add(greedy("r" + i, randomPrompt(rnd, 20, VOCAB), 5));
        h.runToIdle();
        assertThat(runner.steps).allMatch(step -> step.size() <= 2);
        for (int i = 0; i < 5; i++) assertThat(h.tokens("r" + i)).hasSize(5);
    }

    @Test
    void preemptionUnderPressureNeitherCorruptsNorChangesAnySequence() {
        SplittableRandom rnd = new SplittableRandom(4);
        int n = 6;
        GenerateRequest[] reqs = new GenerateRequest[n];
        for (int i = 0; i < n; i++) reqs[i] = greedy("p" + i, randomPrompt(rnd, 10 + rnd.nextInt(10), VOCAB), 14);

        // 10 blocks of 4 tokens: each request needs up to 8 blocks, so six of them cannot all run at once.
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(4, 64, 8, 40));
        for (GenerateRequest r : reqs) h.add(r);
        h.runToIdle();

        assertThat(h.core.preemptions()).isPositive();
        for (GenerateRequest r : reqs) {
            Harness alone = new Harness(new CheckingRunner(VOCAB, 4096), config(4, 64, 8, 40));
            alone.add(r);
            alone.runToIdle();
            assertThat(h.tokens(r.requestId())).as(r.requestId()).hasSize(14).containsExactly(alone.tokens(r.requestId()));
            assertThat(h.last(r.requestId()).finishReason()).isEqualTo(FinishReason.LENGTH);
        }
        assertThat(h.core.stats().kvBlocksUsed()).isZero();
        assertThat(h.core.stats().runningRequests()).isZero();
        assertThat(h.core.stats().waitingRequests()).isZero();
    }

    @Test
    void theHighestPrioritySequenceIsNeverPreempted() {
        SplittableRandom rnd = new SplittableRandom(5);
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(4, 64, 8, 40));
        for (int i = 0; i < 5; i++) {
            int priority = i == 3 ? 10 : 0;
            h.add(new GenerateRequest("q" + i, randomPrompt(rnd, 12, VOCAB), SamplingParams.GREEDY,
                    new StopConditions(14, null, true, false), priority, null));
        }
        h.runToIdle();
        assertThat(h.core.preemptions()).isPositive();
        long important = 4; // sequence ids follow submission order from 1
        int end = 0;
        for (List<CheckingRunner.Work> step : runner.steps) {
            for (CheckingRunner.Work w : step) {
                if (w.sequenceId() != important) continue;
                assertThat(w.start()).as("recomputed from scratch: it was preempted").isEqualTo(end);
                end = w.start() + w.count();
            }
        }
        assertThat(h.tokens("q3")).hasSize(14);
    }

    @Test
    void aSequenceLongerThanTheWholeCacheEndsWithLengthInsteadOfLivelocking() {
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(4, 64, 8, 16));
        h.add(greedy("big", randomPrompt(new SplittableRandom(6), 10, VOCAB), 100));
        h.runToIdle();
        // 16 slots hold positions 0..15; the 17th token is sampled from position 15 and ends the sequence.
        assertThat(h.tokens("big")).hasSize(7);
        assertThat(h.last("big").finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void promptLargerThanTheCacheIsRejectedWithTheNumbers() {
        Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 64, 8, 64));
        assertThatThrownBy(() -> h.add(greedy("x", new int[65], 4)))
                .isInstanceOf(RequestRejectedException.class)
                .hasMessageContaining("65 tokens").hasMessageContaining("64 tokens")
                .satisfies(e -> assertThat(((RequestRejectedException) e).reason()).isEqualTo(RequestRejectedException.Reason.PROMPT_TOO_LONG));
        assertThatThrownBy(() -> h.add(greedy("y", new int[] {VOCAB}, 4)))
                .isInstanceOf(RequestRejectedException.class).hasMessageContaining("vocabulary");
    }

    @Test
    void promptAsLongAsTheContextIsRejected() {
        Harness h = new Harness(new CheckingRunner(VOCAB, 50), config(16, 64, 8, 1024));
        assertThatThrownBy(() -> h.add(greedy("x", new int[50], 4)))
                .isInstanceOf(RequestRejectedException.class).hasMessageContaining("context is 50");
    }

    @Test
    void cancellingFreesBlocksAtOnceAndEndsTheStream() {
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(16, 64, 8, 1024));
        h.add(greedy("c", randomPrompt(new SplittableRandom(7), 40, VOCAB), 100));
        h.add(greedy("w", randomPrompt(new SplittableRandom(8), 40, VOCAB), 100));
        h.core.step();
        assertThat(h.core.stats().kvBlocksUsed()).isPositive();
        assertThat(h.core.cancel("c")).isTrue();
        assertThat(h.core.cancel("w")).isTrue();
        assertThat(h.core.stats().kvBlocksUsed()).isZero();
        assertThat(h.core.hasWork()).isFalse();
        assertThat(h.last("c").finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(h.last("w").finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(h.core.cancel("c")).isFalse();
    }

    @Test
    void stopTokenAndEosEndTheSequence() {
        int[] prompt = randomPrompt(new SplittableRandom(9), 20, VOCAB);
        Harness free = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 64, 8, 1024));
        free.add(greedy("free", prompt, 10));
        free.runToIdle();
        int[] expected = free.tokens("free");
        int third = expected[2];

        Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 64, 8, 1024));
        h.add(new GenerateRequest("stop", prompt, SamplingParams.GREEDY, new StopConditions(10, new int[] {third}, true, false)));
        h.add(new GenerateRequest("stop-incl", prompt, SamplingParams.GREEDY, new StopConditions(10, new int[] {third}, true, true)));
        h.runToIdle();
        assertThat(h.tokens("stop")).containsExactly(expected[0], expected[1]);
        assertThat(h.last("stop").finishReason()).isEqualTo(FinishReason.STOP);
        // Usage counts what the client receives: the hidden stop token is not part of the completion.
        assertThat(h.last("stop").usage().completionTokens()).isEqualTo(2);
        assertThat(h.tokens("stop-incl")).containsExactly(expected[0], expected[1], third);
        assertThat(h.last("stop-incl").usage().completionTokens()).isEqualTo(3);

        Harness eos = new Harness(new CheckingRunner(VOCAB, 4096, third), config(16, 64, 8, 1024));
        eos.add(new GenerateRequest("eos", prompt, SamplingParams.GREEDY, StopConditions.maxTokens(10)));
        eos.add(new GenerateRequest("ignore", prompt, SamplingParams.GREEDY, new StopConditions(10, null, true, false)));
        eos.runToIdle();
        assertThat(eos.tokens("eos")).containsExactly(expected[0], expected[1]);
        assertThat(eos.last("eos").finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(eos.tokens("ignore")).containsExactly(expected);
        assertThat(eos.last("ignore").finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void seededSamplingIsReproducibleInsideABatch() {
        SplittableRandom rnd = new SplittableRandom(10);
        int[] prompt = randomPrompt(rnd, 30, VOCAB);
        SamplingParams seeded = new SamplingParams(1.0, 1, 0, 0, 1, 0, 0, 1234, -1);
        GenerateRequest r = new GenerateRequest("s", prompt, seeded, new StopConditions(12, null, true, false));

        Harness alone = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 64, 8, 1024));
        alone.add(r);
        alone.runToIdle();

        Harness batch = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 64, 8, 1024));
        for (int i = 0; i < 4; i++) batch.add(new GenerateRequest("o" + i, randomPrompt(rnd, 25, VOCAB),
                seeded.withSeed(i), new StopConditions(12, null, true, false)));
        batch.add(r);
        batch.add(new GenerateRequest("other-seed", prompt, seeded.withSeed(99), new StopConditions(12, null, true, false)));
        batch.runToIdle();

        assertThat(batch.tokens("s")).containsExactly(alone.tokens("s"));
        assertThat(batch.tokens("other-seed")).isNotEqualTo(alone.tokens("s"));
    }

    @Test
    void logprobsFollowTheirTokensAndUsageCountsCachedPrompt() {
        int[] prompt = randomPrompt(new SplittableRandom(11), 40, VOCAB);
        SamplingParams withLogprobs = new SamplingParams(0, 1, 0, 0, 1, 0, 0, 0, 1);
        Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(16, 64, 8, 1024));
        h.add(new GenerateRequest("first", prompt, withLogprobs, new StopConditions(3, null, true, false)));
        h.runToIdle();
        h.add(new GenerateRequest("second", prompt, withLogprobs, new StopConditions(3, null, true, false)));
        h.runToIdle();
        for (GenerateOutput o : h.outputs.get("second")) {
            if (o.tokenIds().length > 0) assertThat(o.logprobs()).hasSize(o.tokenIds().length);
        }
        assertThat(h.last("first").usage().cachedPromptTokens()).isZero();
        assertThat(h.last("second").usage().cachedPromptTokens()).isEqualTo(32);
        assertThat(h.last("second").usage().promptTokens()).isEqualTo(40);
        assertThat(h.last("second").usage().completionTokens()).isEqualTo(3);
        assertThat(h.core.stats().prefixCacheQueryTokens()).isEqualTo(80);
        assertThat(h.core.stats().prefixCacheHitTokens()).isEqualTo(32);
    }

    @Test
    void aFailedStepFailsItsSequencesAndTheEngineGoesOn() {
        CheckingRunner runner = new CheckingRunner(VOCAB, 4096);
        Harness h = new Harness(runner, config(16, 64, 8, 1024));
        h.add(greedy("doomed", randomPrompt(new SplittableRandom(12), 10, VOCAB), 5));
        runner.failNextStep = new IllegalStateException("boom");
        h.runToIdle();
        assertThat(h.last("doomed").finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(h.last("doomed").error()).contains("boom");
        assertThat(h.core.stats().kvBlocksUsed()).isZero();
        h.add(greedy("next", randomPrompt(new SplittableRandom(13), 10, VOCAB), 5));
        h.runToIdle();
        assertThat(h.tokens("next")).hasSize(5);
    }
}
