package ai.armature.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.armature.bench.MooncakeTrace;
import ai.armature.router.RouterConfig;
import ai.armature.router.policy.RoutingPolicy;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;

/**
 * Simulated factories on small workloads: every run must keep the invariants (every request completes, every
 * token asked for is generated, workers end idle with no block in use, the router's index equals every worker's
 * cache), be deterministic, and show cache-aware routing doing what it is for.
 */
class SimulationTest {

    /** An 8B model on an H100 with a small cache (8,192 tokens) so blocks get evicted. */
    private static final MockProfile PROFILE = MockProfile.parse("h100-llama3-8b,max_context=32768,kv_cache=1GiB");

    static Simulation.Settings settings(int workers, String policy, double loss) {
        ServingConfig serving = ServingConfig.defaults().withMaxBatchedTokens(2048).withMaxSeqs(64);
        RouterConfig router = RouterConfig.defaults().withPolicy(policy).withRouterId("sim").withSeed(1);
        return new Simulation.Settings(workers, PROFILE, serving, router, 1_000_000_000L, loss, 1);
    }

    private static Simulation.Outcome run(Simulation.Settings s, SimWorkload w) {
        Simulation.Outcome o = new Simulation(s, w).run();
        assertThat(o.violations()).as(s.router().policy()).isEmpty();
        assertThat(o.result().completed()).isEqualTo(w.totalRequests());
        return o;
    }

    private static SimWorkload sharedPrefix() {
        return new SharedPrefixLoad(8, 8, 2048, 64, 32, 40, PROFILE.vocabSize(), 3);
    }

    @Test
    void kvRoutingReusesSharedPrefixesThatRoundRobinRecomputes() {
        PolicyResult kv = run(settings(4, "kv", 0), sharedPrefix()).result();
        PolicyResult rr = run(settings(4, "round-robin", 0), sharedPrefix()).result();
        assertThat(kv.prefixHitRate()).isGreaterThan(rr.prefixHitRate() + 0.2);
        assertThat(kv.ttftP50S()).isLessThan(rr.ttftP50S());
        assertThat(kv.predictedHitRate()).as("the router predicts what the workers then report")
                .isCloseTo(kv.prefixHitRate(), org.assertj.core.data.Offset.offset(0.05));
        assertThat(kv.outputTokens()).isEqualTo(64 * 32);
        assertThat(kv.kvEvents()).isPositive();
    }

    @Test
    void conversationsKeepHittingTheirHistory() {
        SimWorkload turns = new MultiTurnLoad(6, 4, 200, 50, 500, 1_000_000_000L, PROFILE.vocabSize(), 5);
        PolicyResult kv = run(settings(3, "kv", 0), turns).result();
        // Turns 2-4 find their whole history; turn 1 only the system prompt.
        assertThat(kv.prefixHitRate()).isGreaterThan(0.7);
        assertThat(kv.requests()).isEqualTo(24);
    }

    @Test
    void theSameInputsGiveTheSameOutput() {
        Simulation.Outcome a = run(settings(3, "kv", 0), sharedPrefix());
        Simulation.Outcome b = run(settings(3, "kv", 0), sharedPrefix());
        assertThat(b.result()).isEqualTo(a.result());
        assertThat(b.ttftSeconds()).isEqualTo(a.ttftSeconds());
        Simulation.Outcome c = run(settings(3, "random", 0), sharedPrefix());
        assertThat(c.result()).isNotEqualTo(a.result());
    }

    @Test
    void aLossyEventPlaneIsRepairedBySnapshots() {
        Simulation s = new Simulation(settings(4, "kv", 0.02), new MultiTurnLoad(8, 5, 300, 40, 400, 500_000_000L, PROFILE.vocabSize(), 9));
        Simulation.Outcome o = s.run();
        assertThat(o.violations()).as("the router's index ends equal to every worker's cache").isEmpty();
        assertThat(s.router().routerStats().kvEventGaps()).isPositive();
        assertThat(s.router().routerStats().kvSnapshots()).isPositive();
    }

    @Test
    void requestsThatWaitAtTheRouterWhileEveryWorkerIsBusyAllComplete() {
        Simulation.Settings s = settings(4, "kv", 0);
        s = s.withRouter(s.router().withBusyPrefillTokens(4096).withWaitTimeout(java.time.Duration.ZERO));
        Simulation sim = new Simulation(s, new SharedPrefixLoad(8, 8, 2048, 64, 32, 0, PROFILE.vocabSize(), 3));
        Simulation.Outcome o = sim.run();
        assertThat(o.violations()).isEmpty();
        assertThat(o.result().completed()).isEqualTo(64);
        assertThat(sim.router().routerStats().waitedTotal()).as("all 64 arrive at once: most wait").isGreaterThan(32);
        assertThat(sim.router().routerStats().waitingRequests()).isZero();
        assertThat(o.result().outputTokens()).isEqualTo(64 * 32);
    }

    @Test
    void everyPolicyReplaysTheStartOfTheMooncakeTrace() throws Exception {
        Path trace = fixture("traces/mooncake_conversation_trace.jsonl");
        MooncakeTrace t = MooncakeTrace.read(trace, 120);
        for (String policy : RoutingPolicy.NAMES) {
            // Prompts up to 120k tokens here: simulate's default profile (a 128k context and the H100's whole cache).
            Simulation.Settings s = settings(6, policy, 0);
            s = new Simulation.Settings(s.workers(), MockProfile.parse("h100-llama3-8b,max_context=131072"), s.serving(),
                    s.router(), s.tickNanos(), 0, 1);
            PolicyResult r = run(s, new MooncakeReplay(t, 4, PROFILE.vocabSize(), 1)).result();
            assertThat(r.router()).isEqualTo(policy);
            assertThat(r.failed()).isZero();
        }
    }

    @Test
    void equalHashIdsGiveEqualTokensAndOthersDiffer() {
        MooncakeTrace t = new MooncakeTrace(List.of(new MooncakeTrace.Entry(0, 1100, 5, new long[] {7, 8, 9}),
                new MooncakeTrace.Entry(0, 700, 5, new long[] {7, 10})));
        MooncakeReplay r = new MooncakeReplay(t, 1, 1000, 1);
        int[] a = r.prompt(0, t.entries().get(0)), b = r.prompt(1, t.entries().get(1));
        assertThat(a).hasSize(1100);
        assertThat(java.util.Arrays.copyOf(a, 512)).isEqualTo(java.util.Arrays.copyOf(b, 512));
        assertThat(java.util.Arrays.copyOfRange(a, 512, 700)).isNotEqualTo(java.util.Arrays.copyOfRange(b, 512, 700));
    }

    static Path fixture(String rel) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("shared/fixtures").resolve(rel);
            if (Files.exists(f)) return f;
        }
        assumeTrue(false, "shared fixture " + rel + " not found (expected ../shared/fixtures next to the repository)");
        return null;
    }
}
