package ai.armature.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How TTFT, ITL and E2E are measured: exactly, in virtual time, from when chunks arrive; and over real HTTP against
 * a server with known timing, where only what physics guarantees is checked (a client never measures less than the
 * server's delays). How close the client's figures come to the server's is a benchmark, not a test:
 * {@link ClientTimingBench}.
 */
class TimingMeasurementTest {

    private static final long MS = 1_000_000L;

    @Test
    void chunkTimestampsGiveTtftGapsAndE2eExactly() {
        long[] now = {0};
        SseStream s = new SseStream(new ObjectMapper(), false, () -> now[0]);
        s.start(1_000);
        BenchTestSupport.respond200(s);
        feed(s, now, 41_000, "data: {\"choices\":[{\"text\":\"a\"}]}");
        feed(s, now, 41_500, "");
        feed(s, now, 49_000, "data: {\"choices\":[{\"text\":\"b\"}]}");
        feed(s, now, 60_000, "data: {\"choices\":[{\"text\":\"\"}]}"); // empty text is not a token
        feed(s, now, 61_000, "data: {\"choices\":[{\"text\":\"c\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3}}");
        feed(s, now, 62_000, "data: [DONE]");
        now[0] = 63_000;
        s.onComplete();
        RequestRecord r = s.finish(null, 99_000, RequestSpec.completion("p", 3, 3, "t"), Endpoint.COMPLETIONS, 0, 0, -1).record();
        assertThat(r.ok()).isTrue();
        assertThat(r.ttftNanos()).isEqualTo(40_000);
        assertThat(r.chunkGapsNanos()).containsExactly(8_000, 12_000);
        assertThat(r.e2eNanos()).as("the end of the stream, not when the waiting thread woke").isEqualTo(62_000);
        assertThat(r.meanItlNanos()).isEqualTo((62_000 - 40_000) / 2);
    }

    private static void feed(SseStream s, long[] now, long at, String line) {
        now[0] = at;
        s.onNext(line);
    }

    @Test
    void spreadsChunkGapsOverTheTokensTheyCarry() {
        // 20 tokens in chunks of 4: 5 chunks, 4 gaps of 8 ms covering 19 token gaps.
        VirtualClock clock = new VirtualClock();
        VirtualSender server = new VirtualSender(clock, i -> new VirtualSender.Timing(5 * MS, 8 * MS, 20, 4, 6));
        Workload w = new SyntheticWorkload(1, 12, 0, 20, 0, PromptText.uncalibrated(), 2);
        RunResult run = new LoadRunner(server, null, ProgressListener.NONE, clock).run(w, new LoadShape.Closed(1), -1, -1);
        assertThat(run.records()).hasSize(2);
        for (RequestRecord r : run.records()) {
            assertThat(r.contentChunks()).isEqualTo(5);
            assertThat(r.tokensPerGap()).isEqualTo(19.0 / 4);
            for (int i = 0; i < 4; i++) assertThat(r.itlNanos(i)).isEqualTo(Math.round(8 * MS / 4.75));
            assertThat(r.ttftNanos()).isEqualTo(5 * MS);
            assertThat(r.e2eNanos()).isEqualTo(5 * MS + 4 * 8 * MS);
            assertThat(r.cachedTokens()).isEqualTo(6);
        }
        // Closed loop with one client: the second request leaves when the first one ends.
        assertThat(run.records().get(1).startOffsetNanos()).isEqualTo(37 * MS);
        Summary s = Summaries.of(run, -1, -1);
        assertThat(s.prefixCacheHitRate()).isEqualTo(0.5);
        assertThat(s.itl().p50()).isCloseTo(8e-3 / 4.75, org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void goodputCountsOnlyRequestsWithinTheSlos() {
        // Even requests are fast, odd ones have a slow first token.
        VirtualClock clock = new VirtualClock();
        VirtualSender server = new VirtualSender(clock, i -> VirtualSender.Timing.of(i % 2 == 0 ? 2 * MS : 60 * MS, MS, 4));
        Workload w = new SyntheticWorkload(1, 8, 0, 4, 0, PromptText.uncalibrated(), 4);
        RunResult run = new LoadRunner(server, null, ProgressListener.NONE, clock).run(w, new LoadShape.Closed(1), -1, -1);
        Summary s = Summaries.of(run, 0.030, 0.050);
        assertThat(s.goodRequests()).isEqualTo(2);
        assertThat(s.goodput()).isCloseTo(s.requestThroughput() / 2, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(s.durationSeconds()).isCloseTo(2 * 0.005 + 2 * 0.063, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void overHttpTheClientNeverMeasuresLessThanTheServersDelays() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(40 * MS, 8 * MS, 16));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(30))) {
            BenchTestSupport.warm(client);
            Workload w = new SyntheticWorkload(1, 16, 0, 16, 0, PromptText.uncalibrated(), 6);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Closed(2), -1, -1);
            assertThat(run.records()).hasSize(6).allMatch(RequestRecord::ok);
            List<FakeOpenAiServer.Seen> seen = server.seen();
            List<RequestRecord> byIndex = new ArrayList<>(run.records());
            byIndex.sort(Comparator.comparingLong(RequestRecord::index));
            for (RequestRecord r : byIndex) {
                FakeOpenAiServer.Seen s = seen.stream()
                        .filter(x -> x.index() > 0 && x.body().path("prompt").asText().equals(promptOf(r))).findFirst().orElseThrow();
                assertThat(r.completionTokens()).isEqualTo(16);
                assertThat(r.promptTokens()).isEqualTo(16);
                assertThat(r.contentChunks()).isEqualTo(16);
                assertThat(r.chunkGapsNanos()).hasSize(15);
                // The server waits at least 40 ms before the first token and 8 ms between tokens.
                assertThat(r.ttftNanos()).isGreaterThanOrEqualTo(40 * MS);
                assertThat(r.meanItlNanos()).isGreaterThanOrEqualTo(8 * MS);
                assertThat(r.e2eNanos()).isGreaterThanOrEqualTo(40 * MS + 15 * 8 * MS);
                // The client's clock starts before the request is written and stops after the chunk is read, so it
                // contains what the server saw.
                assertThat(r.ttftNanos()).isGreaterThanOrEqualTo(s.chunkNanos().getFirst() - s.arrivalNanos());
                assertThat(r.e2eNanos()).isGreaterThanOrEqualTo(s.chunkNanos().getLast() - s.arrivalNanos());
            }
            assertThat(Summaries.of(run, -1, -1).outputTokens()).isEqualTo(96);
        }
    }

    /** Synthetic prompts are a pure function of the seed and the index; rebuild the same one. */
    static String promptOf(RequestRecord r) {
        SyntheticWorkload copy = new SyntheticWorkload(1, 16, 0, 16, 0, PromptText.uncalibrated(), 6);
        for (Conversation c = copy.next(); c != null; c = copy.next()) {
            RequestSpec spec = c.next(null);
            if (spec.tag().equals(r.tag())) return spec.prompt();
        }
        throw new AssertionError("no prompt for " + r.tag());
    }
}
