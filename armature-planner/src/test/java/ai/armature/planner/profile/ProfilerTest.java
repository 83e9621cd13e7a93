package ai.armature.planner.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

/** The sweep of the mocker reproduces its performance formula, recomputed here from the profile's constants. */
class ProfilerTest {

    private static final MockProfile SIMPLE = MockProfile.parse(
            "name=simple,vocab_size=1000,max_context=4096,eos_token_ids=0,kv_bytes_per_token=1,kv_cache=65536,"
                    + "step_overhead_ms=1,weight_read_ms=5,token_compute_us=100,attention_pair_ns=1000,kv_read_ns_per_token=2000");

    private static ServingConfig config(int maxBatchedTokens, int maxSeqs) {
        return new ServingConfig(16, maxBatchedTokens, maxSeqs, null, 1000, null);
    }

    /** The formula of one step, written out here independently of MockProfile.stepSeconds. */
    private static double step(MockProfile p, long tokens, long pairs, long kvRead) {
        return p.stepOverheadSeconds() + Math.max(p.weightReadSeconds(), tokens * p.tokenComputeSeconds())
                + pairs * p.attentionPairSeconds() + kvRead * p.kvReadSecondsPerToken();
    }

    /** A lone prompt of {@code length} tokens, computed in chunks of the token budget: the sum of its steps. */
    private static double expectedPrefill(MockProfile p, int length, int budget) {
        double t = 0;
        for (int start = 0; start < length; start += budget) {
            int c = Math.min(budget, length - start);
            t += step(p, c, (long) c * start + (long) c * (c + 1) / 2, start + c);
        }
        return t;
    }

    /** Mean of {@code steps} decode steps of {@code batch} sequences starting with {@code context} tokens in context. */
    private static double expectedDecode(MockProfile p, int batch, int context, int steps) {
        double t = 0;
        for (int k = 0; k < steps; k++) {
            long start = context + k;
            t += step(p, batch, batch * (start + 1), batch * (start + 1));
        }
        return t / steps;
    }

    @Test
    void theMockerSweepIsItsFormula() {
        int budget = 256;
        Profiler profiler = Profiler.mock(SIMPLE, config(budget, 32));
        Profiler.Sweep sweep = new Profiler.Sweep(new int[] {1, 16, 100, 256, 257, 1000, 3000}, new int[] {1, 2, 7, 32},
                new int[] {16, 100, 512, 2048}, 3, 1, 0);
        PerformanceProfile p = profiler.run(sweep, line -> { });

        assertThat(p.clock()).isEqualTo("virtual");
        assertThat(p.source()).isEqualTo("mock:simple");
        assertThat(p.limits()).isEqualTo(new PerformanceProfile.Limits(budget, 32, 16, 65536, 4096));
        assertThat(p.prefill()).extracting(PerformanceProfile.PrefillPoint::inputTokens).containsExactly(1, 16, 100, 256, 257, 1000, 3000);
        for (PerformanceProfile.PrefillPoint pt : p.prefill()) {
            double expected = expectedPrefill(SIMPLE, pt.inputTokens(), budget);
            int steps = (pt.inputTokens() + budget - 1) / budget;
            // The virtual clock counts whole nanoseconds: each step's duration is truncated to one.
            assertThat(pt.seconds()).as("prefill of %d tokens", pt.inputTokens()).isCloseTo(expected, within(steps * 1e-9));
        }

        PerformanceProfile.DecodeGrid g = p.decode();
        // 100 is not a whole number of blocks: rounded down to 96.
        assertThat(g.contextTokens()).containsExactly(16, 96, 512, 2048);
        assertThat(g.batchSizes()).containsExactly(1, 2, 7, 32);
        int measured = 0;
        for (int i = 0; i < g.batchSizes().length; i++) {
            for (int j = 0; j < g.contextTokens().length; j++) {
                int b = g.batchSizes()[i], c = g.contextTokens()[j];
                long blocks = (long) b * ((c + 3 + 1 + 15) / 16 + 1);
                if (blocks * 16 > 65536) {
                    assertThat(g.at(i, j)).as("batch %d at %d tokens does not fit", b, c).isNaN();
                    continue;
                }
                double expected = expectedDecode(SIMPLE, b, c, 3);
                assertThat(g.at(i, j)).as("decode batch %d context %d", b, c).isCloseTo(expected, within(1e-9));
                measured++;
            }
        }
        assertThat(measured).isEqualTo(15);
        assertThat(g.at(3, 3)).isNaN();
        profiler.close();
    }

    @Test
    void theDefaultSweepOfTheBuiltInProfileCoversTheContextAndIsItsFormula() {
        MockProfile h100 = MockProfile.H100_LLAMA3_8B;
        Profiler profiler = Profiler.mock(h100, ServingConfig.defaults());
        Profiler.Sweep d = profiler.defaultSweep();
        assertThat(d.inputLengths()).startsWith(16, 24, 32, 48, 64).endsWith(8191);
        assertThat(d.batchSizes()).containsExactly(1, 2, 4, 8, 16, 32, 64, 128);
        assertThat(d.contextTokens()).startsWith(64, 128).endsWith(4096, 8176);
        assertThat(d.decodeSteps()).isEqualTo(1);
        // A subset keeps the test quick; the default sweep is the same code over more points.
        PerformanceProfile p = profiler.run(new Profiler.Sweep(new int[] {24, 8191}, new int[] {1, 128}, new int[] {64, 1024}, 1, 1, 0),
                line -> { });
        // The virtual clock counts whole nanoseconds per step: 16 chunks of 512 tokens may lose up to 16 ns.
        assertThat(p.prefill().get(1).seconds()).isCloseTo(expectedPrefill(h100, 8191, 512), within(16e-9));
        assertThat(p.decode().at(1, 1)).isCloseTo(expectedDecode(h100, 128, 1024, 1), within(1e-9));
        // The class comment's figures: about 6.3 ms per token at batch 1.
        assertThat(p.decode().at(0, 0)).isCloseTo(6.3e-3, within(0.1e-3));
        profiler.close();
    }

    @Test
    void pointsOutsideTheWorkerAreSkippedOrRefused() {
        Profiler profiler = Profiler.mock(SIMPLE, config(256, 8));
        PerformanceProfile p = profiler.run(new Profiler.Sweep(new int[] {64, 5000}, new int[] {1, 64}, new int[] {64}, 1, 1, 0), l -> { });
        assertThat(p.prefill()).hasSize(1);
        assertThat(p.decode().batchSizes()).containsExactly(1);
        assertThatThrownBy(() -> profiler.run(new Profiler.Sweep(new int[] {9000}, new int[] {1}, new int[] {64}, 1, 1, 0), l -> { }))
                .hasMessageContaining("no input length");
        assertThatThrownBy(() -> profiler.run(new Profiler.Sweep(new int[] {64}, new int[] {1}, new int[] {8}, 1, 1, 0), l -> { }))
                .hasMessageContaining("below one KV block");
        assertThatThrownBy(() -> new Profiler.Sweep(new int[] {0}, new int[] {1}, new int[] {64}, 1, 1, 0)).hasMessageContaining(">= 1");
        profiler.close();
    }
}
