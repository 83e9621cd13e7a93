package ai.armature.serving.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.EngineCore;
import ai.armature.serving.ServingConfig;

class MockModelRunnerTest {

    /** Round numbers: 1 ms overhead, 5 ms weight read, 0.1 ms per token, 1 us per attention pair, 2 us per KV token. */
    private static final MockProfile SIMPLE = MockProfile.parse(
            "name=simple,vocab_size=1000,max_context=4096,eos_token_ids=0,kv_bytes_per_token=1,kv_cache=4096,"
                    + "step_overhead_ms=1,weight_read_ms=5,token_compute_us=100,attention_pair_ns=1000,kv_read_ns_per_token=2000");

    private static ServingConfig config(int maxBatchedTokens) {
        return new ServingConfig(16, maxBatchedTokens, 64, null, 100, null);
    }

    @Test
    void stepsTakeTheProfilesTimeInVirtualTime() {
        SimClock clock = new SimClock();
        EngineCore core = new EngineCore(new MockModelRunner(SIMPLE, clock), config(512), KvEventPublisher.NONE);
        assertThat(core.totalBlocks()).as("the profile's kv_cache sizes the pool").isEqualTo(256);
        List<Double> firstTokenAt = new ArrayList<>();
        core.add(new GenerateRequest("a", new int[100], SamplingParams.GREEDY, new StopConditions(3, null, true, false)),
                o -> firstTokenAt.add(clock.seconds()));

        core.step();
        // prefill of 100 tokens: 1 ms + max(5 ms, 100 * 0.1 ms) + 5050 pairs * 1 us + 100 KV tokens * 2 us
        double prefill = 1e-3 + 10e-3 + 5050e-6 + 100 * 2e-6;
        assertThat(clock.seconds()).isCloseTo(prefill, within(1e-6));
        assertThat(firstTokenAt).hasSize(1);
        core.step();
        // decode at position 100: 1 ms + max(5 ms, 0.1 ms) + 101 pairs * 1 us + 101 KV tokens * 2 us
        double decode = 1e-3 + 5e-3 + 101e-6 + 101 * 2e-6;
        assertThat(clock.seconds()).isCloseTo(prefill + decode, within(1e-6));
    }

    /**
     * Busy time on the runner's clock, against the mocker's formula by hand: every step in {@code busySeconds}, the
     * steps that computed prompt tokens (with the decode riding along the last one) in {@code promptStepSeconds}.
     */
    @Test
    void theEngineReportsItsBusyTimeAndThePromptStepsApart() {
        SimClock clock = new SimClock();
        EngineCore core = new EngineCore(new MockModelRunner(SIMPLE, clock), config(128), KvEventPublisher.NONE);
        assertThat(core.stats().busySeconds()).isZero();
        core.add(new GenerateRequest("a", new int[200], SamplingParams.GREEDY, new StopConditions(3, null, true, false)), o -> { });
        core.step(); // chunk of 128 at 0: 1 ms + max(5 ms, 12.8 ms) + 8256 pairs * 1 us + 128 KV tokens * 2 us
        double chunk1 = 1e-3 + 12.8e-3 + 8256e-6 + 128 * 2e-6;
        core.step(); // chunk of 72 at 128: 72 * 128 + 72 * 73 / 2 = 11844 pairs, 200 KV tokens
        double chunk2 = 1e-3 + 7.2e-3 + 11844e-6 + 200 * 2e-6;
        core.step(); // decode at 200: 201 pairs, 201 KV tokens
        double decode = 1e-3 + 5e-3 + 201e-6 + 201 * 2e-6;
        assertThat(core.stats().busySeconds()).isCloseTo(chunk1 + chunk2 + decode, within(1e-9));
        assertThat(core.stats().promptStepSeconds()).isCloseTo(chunk1 + chunk2, within(1e-9));
        assertThat(core.stats().promptTokensComputed()).isEqualTo(200);

        // A 50-token prompt whose first 48 (three blocks) are a's, cached: 2 computed beside a's decode at 201, one step
        // of 3 tokens, 202 + (2 * 48 + 3) pairs, 202 + 50 KV tokens.
        core.add(new GenerateRequest("b", new int[50], SamplingParams.GREEDY, StopConditions.maxTokens(1)), o -> { });
        core.step();
        double mixed = 1e-3 + 5e-3 + (202 + 99) * 1e-6 + (202 + 50) * 2e-6;
        assertThat(core.hasWork()).isFalse();
        assertThat(core.stats().busySeconds()).isCloseTo(chunk1 + chunk2 + decode + mixed, within(1e-9));
        assertThat(core.stats().promptStepSeconds()).isCloseTo(chunk1 + chunk2 + mixed, within(1e-9));
        assertThat(core.stats().promptTokensComputed()).as("prefix-cache hits are not computed").isEqualTo(202);
        assertThat(core.stats().busySeconds()).as("the clock moved only in steps").isCloseTo(clock.seconds(), within(1e-9));
    }

    @Test
    void aCachedPrefixCutsTimeToFirstTokenInVirtualTime() {
        SimClock clock = new SimClock();
        MockProfile h100 = MockProfile.parse("h100-llama3-8b,kv_cache=1GiB");
        EngineCore core = new EngineCore(new MockModelRunner(h100, clock), config(8192), KvEventPublisher.NONE);
        int[] prefix = new int[2048];
        for (int i = 0; i < prefix.length; i++) prefix[i] = 1000 + i;
        double uncached = ttft(core, clock, "cold", prefix, 16, 1);
        double cached = ttft(core, clock, "warm", prefix, 16, 2);
        assertThat(cached).isLessThan(0.15 * uncached);
        assertThat(core.stats().prefixCacheHitTokens()).isEqualTo(2048);
        assertThat(core.counters().prefillTokensComputed()).isEqualTo(2064 + 16);
    }

    private static double ttft(EngineCore core, SimClock clock, String id, int[] prefix, int suffix, int salt) {
        int[] prompt = java.util.Arrays.copyOf(prefix, prefix.length + suffix);
        for (int i = prefix.length; i < prompt.length; i++) prompt[i] = salt * 100 + i;
        long start = clock.nanoTime();
        long[] first = {-1};
        core.add(new GenerateRequest(id, prompt, SamplingParams.GREEDY, StopConditions.maxTokens(2)),
                o -> { if (first[0] < 0 && o.tokenIds().length > 0) first[0] = clock.nanoTime(); });
        while (core.hasWork()) core.step();
        return (first[0] - start) / 1e9;
    }

    @Test
    void batchedDecodesShareTheWeightRead() {
        SimClock clock = new SimClock();
        EngineCore core = new EngineCore(new MockModelRunner(SIMPLE, clock), config(512), KvEventPublisher.NONE);
        for (int i = 0; i < 8; i++) {
            core.add(new GenerateRequest("r" + i, new int[] {i + 1}, SamplingParams.GREEDY, new StopConditions(10, null, true, false)), o -> { });
        }
        core.step();
        long before = clock.nanoTime();
        core.step();
        // 8 decodes at position 1: one weight read for all, plus 8 * 2 pairs and 8 * 2 KV tokens
        double expected = 1e-3 + 5e-3 + 16e-6 + 16 * 2e-6;
        assertThat((clock.nanoTime() - before) / 1e9).isCloseTo(expected, within(1e-6));
    }

    @Test
    void realTimeStepsReallyTakeTheirTime() {
        MockModelRunner runner = new MockModelRunner(SIMPLE, MockClock.realTime());
        EngineCore core = new EngineCore(runner, config(512), KvEventPublisher.NONE);
        core.add(new GenerateRequest("a", new int[] {1, 2, 3}, SamplingParams.GREEDY, StopConditions.maxTokens(1)), o -> { });
        long start = System.nanoTime();
        core.step();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo((long) (core.stats().busySeconds() * 1e9));
        assertThat(core.stats().busySeconds()).isGreaterThan(6e-3);
    }

    @Test
    void eosProbabilityOneStopsAtTheFirstToken() {
        MockProfile alwaysEos = MockProfile.parse("vocab_size=1000,eos_token_ids=7,kv_cache=64MiB,eos_probability=1");
        EngineCore core = new EngineCore(new MockModelRunner(alwaysEos, new SimClock()), config(512), KvEventPublisher.NONE);
        List<GenerateOutput> out = new ArrayList<>();
        core.add(new GenerateRequest("a", new int[] {1, 2, 3}, SamplingParams.GREEDY, StopConditions.maxTokens(50)), out::add);
        while (core.hasWork()) core.step();
        assertThat(out.getLast().finishReason()).isEqualTo(FinishReason.STOP);
        // The EOS token is neither sent nor counted: usage is what the client receives.
        assertThat(out.stream().mapToInt(o -> o.tokenIds().length).sum()).isZero();
        assertThat(out.getLast().usage().completionTokens()).isZero();
    }

    @Test
    void tokensAreDeterministicAndNeverEosWhenEosProbabilityIsZero() {
        int[] a = generate(SamplingParams.GREEDY);
        assertThat(generate(SamplingParams.GREEDY)).containsExactly(a);
        assertThat(a).hasSize(200).doesNotContain(0);
        int[] s1 = generate(new SamplingParams(1, 1, 0, 0, 1, 0, 0, 5, -1));
        assertThat(generate(new SamplingParams(1, 1, 0, 0, 1, 0, 0, 5, -1))).containsExactly(s1);
        assertThat(generate(new SamplingParams(1, 1, 0, 0, 1, 0, 0, 6, -1))).isNotEqualTo(s1);
    }

    private static int[] generate(SamplingParams p) {
        EngineCore core = new EngineCore(new MockModelRunner(SIMPLE, new SimClock()), config(512), KvEventPublisher.NONE);
        List<Integer> tokens = new ArrayList<>();
        core.add(new GenerateRequest("a", new int[] {1, 2, 3}, p, StopConditions.maxTokens(200)),
                o -> { for (int t : o.tokenIds()) tokens.add(t); });
        while (core.hasWork()) core.step();
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void builtInH100ProfileGivesPlausibleLatencies() {
        MockProfile p = MockProfile.parse("h100-llama3-8b");
        assertThat(p).isEqualTo(MockProfile.H100_LLAMA3_8B);
        double decodeBatch1 = p.stepSeconds(1, 1001, 1001);
        assertThat(decodeBatch1).isBetween(5e-3, 8e-3);
        double prefill1k = p.stepSeconds(1000, 1000L * 1001 / 2, 1000);
        assertThat(prefill1k).isBetween(20e-3, 60e-3);
        assertThat(p.kvCacheBytes() / p.kvBytesPerToken()).isBetween(300_000L, 500_000L);
    }

    @Test
    void profileSpecsOverrideTheBaseAndReportMistakesClearly() {
        MockProfile p = MockProfile.parse("h100-llama3-8b, eos_probability=0.01, kv_cache=2GiB, eos_token_ids=1:2");
        assertThat(p.eosProbability()).isEqualTo(0.01);
        assertThat(p.kvCacheBytes()).isEqualTo(2L << 30);
        assertThat(p.eosTokenIds()).containsExactly(1, 2);
        assertThat(p.vocabSize()).isEqualTo(128256);
        assertThatThrownBy(() -> MockProfile.parse("bogus=1")).hasMessageContaining("unknown key 'bogus'");
        assertThatThrownBy(() -> MockProfile.parse("a100-x")).hasMessageContaining("unknown mock profile 'a100-x'");
        assertThatThrownBy(() -> MockProfile.parse("weight_read_ms=fast")).hasMessageContaining("weight_read_ms=fast");
    }

    @Test
    void aProfileTakesTheServedTokenizersVocabulary() {
        MockProfile p = MockProfile.parse("h100-llama3-8b,eos_probability=0.5").withVocabulary(1000, new int[] {7, 9});
        assertThat(p.vocabSize()).isEqualTo(1000);
        assertThat(p.eosTokenIds()).containsExactly(7, 9);
        assertThat(p.eosProbability()).isEqualTo(0.5);
        // A tokenizer without end-of-generation ids keeps an id inside the new vocabulary.
        assertThat(MockProfile.H100_LLAMA3_8B.withVocabulary(100, new int[0]).eosTokenIds()).containsExactly(99);
    }
}
