package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole command against the fake server: workloads, calibration, JSON report, charts, compare. */
class LoadBenchmarkTest {

    private static final long MS = 1_000_000L;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();

    private LoadBenchmark.Outcome run(BenchConfig cfg) throws Exception {
        return new LoadBenchmark(cfg, new PrintStream(stdout, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();
    }

    @Test
    void writesTheJsonReportChartsAndMarkdown(@TempDir Path dir) throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(2 * MS, MS, 8).withCached(4))) {
            Path out = dir.resolve("run.json");
            LoadBenchmark.Outcome o = run(BenchTestSupport.config(server.url(), "synthetic", out));
            assertThat(o.model()).isEqualTo("fake-model");
            assertThat(o.calibration().calibrated()).isTrue();
            assertThat(o.calibration().text().tokensPerWord()).isEqualTo(1.0);
            assertThat(o.calibration().text().overheadTokens()).isZero();

            JsonNode root = new ObjectMapper().readTree(out.toFile());
            JsonNode s = root.get("summary");
            for (String field : List.of("requests_completed", "requests_failed", "output_tokens_per_second",
                    "request_throughput", "goodput", "total_tokens_per_second", "errors_by_kind",
                    "prefix_cache_hit_rate")) {
                assertThat(s.has(field)).as(field).isTrue();
            }
            for (String lat : List.of("ttft_seconds", "itl_seconds", "e2e_seconds")) {
                for (String stat : List.of("mean", "p50", "p90", "p99")) {
                    assertThat(s.get(lat).get(stat).isNumber()).as(lat + "." + stat).isTrue();
                }
            }
            assertThat(s.get("requests_completed").asInt()).isEqualTo(6);
            assertThat(s.get("requests_failed").asInt()).isZero();
            assertThat(s.get("prompt_tokens_actual_mean").asDouble()).isEqualTo(32.0);
            assertThat(s.get("prompt_tokens_requested_mean").asDouble()).isEqualTo(32.0);
            assertThat(s.get("prefix_cache_hit_rate").asDouble()).isEqualTo(4.0 / 32);
            JsonNode requests = root.get("requests");
            assertThat(requests).hasSize(6);
            assertThat(requests.get(0).get("itl_seconds")).hasSize(7);
            assertThat(requests.get(0).get("output_tokens").asInt()).isEqualTo(8);
            // Calibration (2) + warm-up (0) + 6 measured; every measured body asks for usage and ignore_eos.
            List<FakeOpenAiServer.Seen> seen = server.seen();
            assertThat(seen).hasSize(8);
            JsonNode body = seen.getLast().body();
            assertThat(body.get("stream").asBoolean()).isTrue();
            assertThat(body.get("stream_options").get("include_usage").asBoolean()).isTrue();
            assertThat(body.get("ignore_eos").asBoolean()).isTrue();
            assertThat(body.get("min_tokens").asInt()).isEqualTo(8);
            assertThat(body.get("max_tokens").asInt()).isEqualTo(8);
            assertThat(body.get("model").asText()).isEqualTo("fake-model");

            for (String png : List.of("run-ttft.png", "run-itl.png", "run-throughput.png")) {
                Path p = dir.resolve(png);
                assertThat(p).exists();
                byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(p), 4);
                assertThat(head).containsExactly(0x89, 'P', 'N', 'G');
            }
            String md = stdout.toString(StandardCharsets.UTF_8);
            assertThat(md).contains("| requests completed / failed | 6 / 0 |").contains("TTFT mean / p50 / p90 / p99");

            String cmp = BenchCompare.compare(out, out);
            assertThat(cmp).contains("| output tokens/s |").contains("1.000");
        }
    }

    @Test
    void aConcurrencySweepWritesEveryPointAndTheCurve(@TempDir Path dir) throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(MS, MS, 4))) {
            Path out = dir.resolve("sweep.json");
            BenchConfig base = BenchTestSupport.config(server.url(), "synthetic", out);
            BenchConfig cfg = new BenchConfig(base.url(), "m", null, "synthetic", null, List.of(1, 4), List.of(), 8,
                    null, 2, 1, Duration.ofSeconds(5), 0.5, 0.5, 16, 4, 4, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, 0,
                    null, 1, 512, true, false, false, out, true);
            run(cfg);
            JsonNode root = new ObjectMapper().readTree(out.toFile());
            assertThat(root.get("sweep")).hasSize(2);
            assertThat(root.get("sweep").get(1).get("load").asText()).isEqualTo("concurrency=4");
            assertThat(root.get("sweep").get(1).get("summary").get("requests_completed").asInt()).isEqualTo(8);
            assertThat(dir.resolve("sweep-sweep-latency-vs-throughput.png")).exists();
            assertThat(dir.resolve("sweep-concurrency4-ttft.png")).exists();
            // Two warm-ups per point, not counted.
            assertThat(server.seen()).hasSize(2 * (2 + 8));
            // Fresh prompts at each point: none of the second point's (warm-ups included) was sent at the first.
            List<String> prompts = server.seen().stream().map(x -> x.body().path("prompt").asText()).toList();
            assertThat(new HashSet<>(prompts.subList(0, 10))).doesNotContainAnyElementsOf(prompts.subList(10, 20));
            assertThat(new HashSet<>(prompts)).hasSize(20);
            assertThat(BenchCompare.compare(out, out)).contains("concurrency=1 vs concurrency=1");
        }
    }

    @Test
    void multiTurnSendsTheGrowingHistoryThroughChat(@TempDir Path dir) throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(MS, MS, 3))) {
            BenchConfig base = BenchTestSupport.config(server.url(), "multi-turn", null);
            BenchConfig cfg = new BenchConfig(base.url(), "m", null, "multi-turn", null, List.of(), List.of(), -1,
                    null, 0, 1, Duration.ofSeconds(5), -1, -1, 10, 0, 3, 0, 0, 0, 0, 0, 2, 3, Duration.ofMillis(5), 6,
                    null, 1, 512, true, false, false, null, false);
            LoadBenchmark.Outcome o = run(cfg);
            assertThat(o.summaries().getFirst().requestsCompleted()).isEqualTo(6);
            List<FakeOpenAiServer.Seen> seen = server.seen();
            assertThat(seen).allMatch(s -> s.path().equals("/v1/chat/completions"));
            // Per user: 2, 4, 6 messages after the system prompt; the assistant turns hold what was streamed.
            List<Integer> sizes = seen.stream().map(s -> s.body().get("messages").size()).sorted().toList();
            assertThat(sizes).containsExactly(2, 2, 4, 4, 6, 6);
            JsonNode last = seen.stream().filter(s -> s.body().get("messages").size() == 6).findFirst().orElseThrow()
                    .body().get("messages");
            assertThat(last.get(0).get("role").asText()).isEqualTo("system");
            assertThat(last.get(2).get("role").asText()).isEqualTo("assistant");
            assertThat(last.get(2).get("content").asText()).isEqualTo(" tok tok tok");
            assertThat(PromptText.countWords(last.get(5).get("content").asText())).isEqualTo(10);
            // prompt tokens grow turn by turn: 6 + 10, then + 3 + 10, then + 3 + 10.
            assertThat(o.runs().getFirst().records().stream().map(RequestRecord::promptTokens).sorted().toList())
                    .containsExactly(16, 16, 29, 29, 42, 42);
            // Each user waits its think time between a reply and its next turn.
            for (String user : List.of("user-0/", "user-1/")) {
                List<RequestRecord> turns = o.runs().getFirst().records().stream()
                        .filter(r -> r.tag().startsWith(user)).toList();
                assertThat(turns).hasSize(3);
                for (int i = 1; i < 3; i++) {
                    RequestRecord prev = turns.get(i - 1);
                    assertThat(turns.get(i).startOffsetNanos() - prev.startOffsetNanos() - prev.e2eNanos())
                            .isGreaterThanOrEqualTo(5 * MS);
                }
            }
        }
    }

    @Test
    void aDurationStopsAnUnboundedWorkload() {
        // Virtual time: every request takes exactly 5 ms, two clients, a 300 ms duration.
        VirtualClock clock = new VirtualClock();
        VirtualSender server = new VirtualSender(clock, i -> VirtualSender.Timing.of(2 * MS, MS, 4));
        Workload w = new SyntheticWorkload(1, 8, 0, 4, 0, PromptText.uncalibrated(), -1);
        RunResult run = new LoadRunner(server, null, ProgressListener.NONE, clock).run(w, new LoadShape.Closed(2), -1, 300 * MS);
        // Both clients send at 0, 5, ..., 295 ms: 60 rounds, and nothing once the duration is over.
        assertThat(run.records()).hasSize(120).allMatch(RequestRecord::ok).allMatch(r -> r.startOffsetNanos() < 300 * MS);
        assertThat(run.durationNanos()).isEqualTo(300 * MS);
    }

    @Test
    void sharedPrefixGroupsShareTheirPrefixOnly() {
        SharedPrefixWorkload w = new SharedPrefixWorkload(3, 4, 5, 64, 8, 16, PromptText.uncalibrated());
        Set<String> prefixes = new HashSet<>();
        Set<String> prompts = new HashSet<>();
        for (Conversation c = w.next(); c != null; c = w.next()) {
            RequestSpec r = c.next(null);
            String[] words = r.prompt().split(" ");
            assertThat(words).hasSize(72);
            prefixes.add(String.join(" ", java.util.Arrays.copyOf(words, 64)));
            prompts.add(r.prompt());
            assertThat(r.maxTokens()).isEqualTo(16);
        }
        assertThat(prefixes).hasSize(4);
        assertThat(prompts).hasSize(20);
    }

    @Test
    void poissonArrivalsFollowTheSeededSchedule() {
        VirtualClock clock = new VirtualClock();
        VirtualSender server = new VirtualSender(clock, i -> VirtualSender.Timing.of(MS, MS, 2));
        Workload w = new SyntheticWorkload(1, 8, 0, 2, 0, PromptText.uncalibrated(), 12);
        RunResult run = new LoadRunner(server, null, ProgressListener.NONE, clock).run(w, new LoadShape.Poisson(100, 7), -1, -1);
        assertThat(run.records()).hasSize(12).allMatch(RequestRecord::ok);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        double t = 0;
        List<Long> expected = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            expected.add(Math.round(t * 1e9));
            t += -Math.log(1.0 - rnd.nextDouble()) / 100;
        }
        assertThat(run.records().stream().map(RequestRecord::scheduledOffsetNanos).sorted().toList()).isEqualTo(expected);
        // Open loop: each request leaves exactly when due, whatever is still in flight.
        assertThat(run.records()).allMatch(r -> r.startOffsetNanos() == r.scheduledOffsetNanos());
        assertThat(server.sent().stream().map(VirtualSender.Sent::arrivalNanos).sorted().toList()).isEqualTo(expected);
    }

    @Test
    void aServerThatWantsAKeyGetsAOneLineHint() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(MS, MS, 2))) {
            server.requiredKey = "sk-right";
            BenchConfig base = BenchTestSupport.config(server.url(), "synthetic", null);
            for (String model : new String[] {null, "m"}) {
                BenchConfig cfg = new BenchConfig(base.url(), model, null, "synthetic", null, List.of(1), List.of(), 2,
                        null, 0, 1, Duration.ofSeconds(5), -1, -1, 16, 0, 4, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, 0,
                        null, 1, 512, true, false, false, null, false);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> run(cfg)).isInstanceOf(java.io.IOException.class)
                        .hasMessageContaining("401").hasMessageContaining("--api-key").hasMessageContaining("OPENAI_API_KEY");
            }
            BenchConfig wrong = new BenchConfig(base.url(), "m", "sk-wrong", "synthetic", null, List.of(1), List.of(), 2,
                    null, 0, 1, Duration.ofSeconds(5), -1, -1, 16, 0, 4, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, 0,
                    null, 1, 512, true, false, false, null, false);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> run(wrong)).hasMessageContaining("refused the API key");
            // No request of a run went out: the check came first.
            assertThat(server.seen()).isEmpty();
            BenchConfig right = new BenchConfig(base.url(), "m", "sk-right", "synthetic", null, List.of(1), List.of(), 2,
                    null, 0, 1, Duration.ofSeconds(5), -1, -1, 16, 0, 4, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, 0,
                    null, 1, 512, true, false, false, null, false);
            assertThat(run(right).summaries().getFirst().requestsCompleted()).isEqualTo(2);
        }
    }
}
