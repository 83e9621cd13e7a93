package ai.armature.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import ai.armature.router.RouterConfig;
import ai.armature.router.policy.RemotePrefillRule;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

/**
 * Disaggregated prefill and decode in the simulator: the frontend's disaggregated router over simulated prefill and
 * decode workers, KV moved in virtual time. Small hand-made workloads whose placements and transfer times are known
 * exactly; every run keeps the simulator's invariants (all requests complete with all their tokens, workers end idle
 * with no block in use or held, the router's index equals every cache).
 */
class DisaggregatedSimulationTest {

    /** 128 KiB of KV per token: a 16-token block is 2 MiB. */
    private static final MockProfile PROFILE = MockProfile.parse("h100-llama3-8b,max_context=32768,kv_cache=1GiB");
    private static final long BLOCK_BYTES = 16L * 131072;
    /** Remote above 512 uncached tokens, so that small prompts disaggregate. */
    private static final RemotePrefillRule RULE = new RemotePrefillRule(512, RemotePrefillRule.DEFAULT_MAX_PREFILL_QUEUE_TOKENS);

    /** Requests given as (arrival ns, prompt, max tokens), prompts drawn from one seeded generator. */
    private record Fixed(List<SimRequest> requests) implements SimWorkload {
        @Override
        public void start(Context ctx) {
            for (SimRequest r : requests) ctx.submit(r);
        }

        @Override
        public long totalRequests() {
            return requests.size();
        }

        @Override
        public String describe() {
            return requests.size() + " fixed requests";
        }
    }

    private static int[] prompt(int length, int seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = 10 + r.nextInt(PROFILE.vocabSize() - 10);
        return p;
    }

    private static Simulation.Settings settings(int prefill, int decode, double bytesPerSecond, RemotePrefillRule rule) {
        ServingConfig serving = ServingConfig.defaults().withMaxBatchedTokens(2048).withMaxSeqs(64);
        RouterConfig router = RouterConfig.defaults().withPolicy("kv").withRouterId("sim").withSeed(1);
        Simulation.Settings s = new Simulation.Settings(prefill + decode, PROFILE, serving, router, 1_000_000_000L, 0, 1);
        return s.withDisaggregation(new Simulation.Disaggregation(prefill, decode, bytesPerSecond, rule));
    }

    /** A finished run that kept every invariant. */
    private record Ran(Simulation sim, PolicyResult result) {
    }

    private static Ran run(Simulation.Settings s, SimWorkload w) {
        Simulation sim = new Simulation(s, w);
        Simulation.Outcome o = sim.run();
        assertThat(o.violations()).isEmpty();
        assertThat(o.result().completed()).isEqualTo(w.totalRequests());
        return new Ran(sim, o.result());
    }

    @Test
    void aRemotePrefillsBlocksArriveAfterTheirBytesOverTheBandwidth() {
        // One 1000-token prompt: 62 full blocks are prefilled remotely and moved; the decode worker computes the last 8 tokens.
        SimWorkload one = new Fixed(List.of(new SimRequest("r", prompt(1000, 1), 20, 0)));
        PolicyResult fast = run(settings(1, 1, 50e9, RULE), one).result();
        PolicyResult slow = run(settings(1, 1, 1e9, RULE), one).result();
        long bytes = 62 * BLOCK_BYTES;
        for (PolicyResult r : List.of(fast, slow)) {
            assertThat(r.remotePrefills()).isEqualTo(1);
            assertThat(r.localPrefills()).isZero();
            assertThat(r.kvTransfers()).isEqualTo(1);
            assertThat(r.kvTransferBytes()).isEqualTo(bytes);
            assertThat(r.outputTokens()).isEqualTo(20);
            assertThat(r.pool()).isEqualTo("1P+1D");
        }
        long fastNanos = Math.round(bytes / 50e9 * 1e9), slowNanos = Math.round(bytes / 1e9 * 1e9);
        assertThat(fast.kvTransferSeconds()).isEqualTo(fastNanos / 1e9);
        assertThat(slow.kvTransferSeconds()).isEqualTo(slowNanos / 1e9);
        // Everything else takes the same virtual time: the request ends later by exactly the extra transfer time,
        // and its first token (from the prefill worker) comes at the same instant.
        assertThat(Math.round((slow.simulatedSeconds() - fast.simulatedSeconds()) * 1e9)).isEqualTo(slowNanos - fastNanos);
        assertThat(slow.ttftP50S()).isEqualTo(fast.ttftP50S());
    }

    @Test
    void transfersOutOfOnePrefillWorkerQueueOnItsLink() {
        // Two 1000-token prompts at once on one prefill worker (one step prefills both) and two decode workers: both
        // transfers are ready at the same instant, and the second waits for the first on the prefill worker's link.
        SimWorkload two = new Fixed(List.of(new SimRequest("a", prompt(1000, 2), 4, 0), new SimRequest("b", prompt(1000, 3), 4, 0)));
        PolicyResult r = run(settings(1, 2, 10e9, RULE), two).result();
        assertThat(r.remotePrefills()).isEqualTo(2);
        long wire = Math.round(62 * BLOCK_BYTES / 10e9 * 1e9);
        assertThat(r.kvTransferSeconds()).isEqualTo((wire + 2 * wire) / 1e9);
        assertThat(r.kvTransferBytes()).isEqualTo(124 * BLOCK_BYTES);
    }

    @Test
    void theRuleSendsOnlyLongUncachedPromptsToThePrefillPoolWhileItsQueueAllows() {
        RemotePrefillRule rule = new RemotePrefillRule(512, 1000);
        int[] history = prompt(513, 4);
        int[] followUp = java.util.Arrays.copyOf(history, 700);
        System.arraycopy(prompt(187, 5), 0, followUp, 513, 187);
        SimWorkload w = new Fixed(List.of(
                new SimRequest("long", history, 8, 0),                        // 513 uncached > 512: remote
                new SimRequest("short", prompt(512, 6), 8, 0),                // 512: local
                new SimRequest("follow-up", followUp, 8, 2_000_000_000L),     // 512 cached on its decode worker, 188 left: local
                new SimRequest("q1", prompt(600, 7), 8, 4_000_000_000L),      // queue 0: remote
                new SimRequest("q2", prompt(600, 8), 8, 4_000_000_000L),      // queue 600 < 1000: remote
                new SimRequest("q3", prompt(600, 9), 8, 4_000_000_000L)));    // queue 1200: local
        Ran ran = run(settings(1, 1, 50e9, rule), w);
        assertThat(ran.sim().placements(RemotePrefillRule.Choice.REMOTE)).isEqualTo(3);
        assertThat(ran.sim().placements(RemotePrefillRule.Choice.LOCAL_SHORT)).isEqualTo(2);
        assertThat(ran.sim().placements(RemotePrefillRule.Choice.LOCAL_PREFILL_QUEUE_FULL)).isEqualTo(1);
        assertThat(ran.result().remotePrefills()).isEqualTo(3);
        assertThat(ran.result().localPrefills()).isEqualTo(3);
        // Moved: the full blocks of the three remote prompts (32 + 37 + 37).
        assertThat(ran.result().kvTransferBytes()).isEqualTo((32 + 37 + 37) * BLOCK_BYTES);
    }

    @Test
    void aSimulationIsDeterministicAndRefusesAPlanner() {
        SimWorkload w = new SharedPrefixLoad(4, 6, 1024, 600, 16, 20, PROFILE.vocabSize(), 3);
        Simulation.Settings s = settings(2, 2, 50e9, RULE);
        PolicyResult a = run(s, w).result();
        PolicyResult b = run(s, new SharedPrefixLoad(4, 6, 1024, 600, 16, 20, PROFILE.vocabSize(), 3)).result();
        assertThat(b).isEqualTo(a);
        assertThat(a.remotePrefills()).isPositive();
        assertThatThrownBy(() -> new Simulation(s, w, new Simulation.Plan("queue", () -> null, ai.armature.planner.PlannerConfig.defaults(), 60)))
                .hasMessageContaining("--planner queue");
    }
}
