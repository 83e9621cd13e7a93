package ai.armature.bench;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Trace replay: requests go out at the trace's (sped-up) times, and prompts share blocks exactly where ids do. */
class TraceReplayTest {

    private static final long MS = 1_000_000L;

    private static final String TRACE = """
            {"timestamp": 0, "input_length": 1100, "output_length": 3, "hash_ids": [0, 1, 2]}
            {"timestamp": 100, "input_length": 1300, "output_length": 2, "hash_ids": [0, 1, 3]}
            {"timestamp": 100, "input_length": 600, "output_length": 4, "hash_ids": [4, 5]}
            {"timestamp": 260, "input_length": 1536, "output_length": 2, "hash_ids": [0, 6, 7]}
            {"timestamp": 400, "input_length": 1700, "output_length": 3, "hash_ids": [4, 5, 8]}
            """;

    @Test
    void sendsRequestsAtTheirSpedUpTimestamps(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("trace.jsonl");
        Files.writeString(file, TRACE);
        MooncakeTrace trace = MooncakeTrace.read(file, -1);
        // Virtual time: the schedule and the sends are exact.
        VirtualClock clock = new VirtualClock();
        VirtualSender server = new VirtualSender(clock, i -> VirtualSender.Timing.of(MS, MS, 3));
        // --speedup 2: due at 0, 50, 50, 130, 200 ms.
        TraceWorkload w = new TraceWorkload(trace, 0.5, 512, 9, PromptText.uncalibrated(), 0);
        RunResult run = new LoadRunner(server, null, ProgressListener.NONE, clock).run(w, new LoadShape.Scheduled(), -1, -1);
        assertThat(run.records()).hasSize(5).allMatch(RequestRecord::ok);
        assertThat(run.records().stream().map(RequestRecord::scheduledOffsetNanos).sorted().toList())
                .containsExactly(0L, 50 * MS, 50 * MS, 130 * MS, 200 * MS);
        assertThat(run.records()).allMatch(r -> r.startOffsetNanos() == r.scheduledOffsetNanos());
        List<VirtualSender.Sent> sent = server.sent();
        long first = sent.getFirst().arrivalNanos();
        assertThat(sent.stream().map(s -> s.arrivalNanos() - first).sorted().toList())
                .containsExactly(0L, 50 * MS, 50 * MS, 130 * MS, 200 * MS);
        // Output lengths from the trace; input lengths as words = tokens on a server that counts words.
        assertThat(sent.stream().map(s -> s.spec().maxTokens()).sorted().toList()).containsExactly(2, 2, 3, 3, 4);
        assertThat(sent.stream().map(s -> PromptText.countWords(s.spec().prompt())).sorted().toList())
                .containsExactly(600, 1100, 1300, 1536, 1700);
        checkBlocks(trace, sent.stream().map(s -> s.spec().prompt()).toList(), 512, true);
    }

    @Test
    void theTraceGoesOutOverHttp(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("trace.jsonl");
        Files.writeString(file, TRACE);
        MooncakeTrace trace = MooncakeTrace.read(file, -1);
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(MS, MS, 3));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(30))) {
            TraceWorkload w = new TraceWorkload(trace, 0.5, 512, 9, PromptText.uncalibrated(), 0);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Scheduled(), -1, -1);
            assertThat(run.records()).hasSize(5).allMatch(RequestRecord::ok);
            // Never early (the real clock cannot run backwards); how late is ClientTimingBench's business.
            assertThat(run.records()).allMatch(r -> r.startOffsetNanos() >= r.scheduledOffsetNanos());
            assertThat(server.seen().stream().map(s -> s.body().get("max_tokens").asInt()).sorted().toList())
                    .containsExactly(2, 2, 3, 3, 4);
        }
    }

    @Test
    void theRealConversationTraceSharesBlocksExactlyWhereItsIdsDo() throws Exception {
        Path fixtures = BenchTestSupport.fixtures();
        Path file = fixtures == null ? null : fixtures.resolve("traces/mooncake_conversation_trace.jsonl");
        Assumptions.assumeTrue(file != null && Files.exists(file),
                "shared/fixtures/traces/mooncake_conversation_trace.jsonl is absent; skipping the real-trace check");
        MooncakeTrace trace = MooncakeTrace.read(file, 200);
        // Shrink blocks to 32 tokens: the sharing structure must survive the scaling.
        TraceWorkload w = new TraceWorkload(trace, 1.0, 32, 5, PromptText.uncalibrated(), 0);
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < trace.entries().size(); i++) {
            prompts.add(w.prompt(i, trace.entries().get(i)));
        }
        int shared = checkBlocks(trace, prompts, 32, false);
        assertThat(shared).as("blocks seen more than once").isGreaterThan(50);
    }

    /**
     * Splits each prompt into blocks of {@code words} words and checks that equal hash ids give equal blocks and
     * different ids different ones; returns how many block occurrences repeated an earlier id.
     */
    private static int checkBlocks(MooncakeTrace trace, List<String> prompts, int words, boolean anyOrder) {
        Map<Long, String> byId = new HashMap<>();
        Map<String, Long> byText = new HashMap<>();
        int repeats = 0;
        for (int i = 0; i < trace.entries().size(); i++) {
            MooncakeTrace.Entry e = trace.entries().get(i);
            String prompt = anyOrder ? findPrompt(prompts, e, words) : prompts.get(i);
            String[] w = prompt.split(" ");
            for (int b = 0; b < e.hashIds().length && (b + 1) * words <= w.length; b++) {
                String block = String.join(" ", java.util.Arrays.copyOfRange(w, b * words, (b + 1) * words));
                long id = e.hashIds()[b];
                String before = byId.putIfAbsent(id, block);
                if (before != null) {
                    assertThat(block).as("block of id %d", id).isEqualTo(before);
                    repeats++;
                }
                Long other = byText.putIfAbsent(block, id);
                assertThat(other == null ? id : other).as("ids with the same block text").isEqualTo(id);
            }
        }
        return repeats;
    }

    private static String findPrompt(List<String> prompts, MooncakeTrace.Entry e, int words) {
        int expected = (int) Math.round((double) e.inputLength() * words / 512);
        return prompts.stream().filter(p -> PromptText.countWords(p) == expected).findFirst().orElseThrow();
    }
}
