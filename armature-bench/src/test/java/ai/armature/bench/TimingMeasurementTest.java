package ai.armature.bench;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The client's TTFT, ITL and E2E against a server with known timing, and against what the server recorded. */
class TimingMeasurementTest {

    private static final long MS = 1_000_000L;

    @Test
    void measuresTtftItlAndE2eOfAKnownServer() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(40 * MS, 8 * MS, 16));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(10))) {
            BenchTestSupport.warm(client);
            Workload w = new SyntheticWorkload(1, 16, 0, 16, 0, PromptText.uncalibrated(), 6);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE)
                    .run(w, new LoadShape.Closed(2), -1, -1);
            assertThat(run.records()).hasSize(6).allMatch(RequestRecord::ok);
            List<FakeOpenAiServer.Seen> seen = server.seen();
            List<RequestRecord> byIndex = new ArrayList<>(run.records());
            byIndex.sort(Comparator.comparingLong(RequestRecord::index));
            List<Long> ttftErrors = new ArrayList<>();
            List<Long> gapErrors = new ArrayList<>();
            List<Long> e2eErrors = new ArrayList<>();
            for (RequestRecord r : byIndex) {
                FakeOpenAiServer.Seen s = seen.stream()
                        .filter(x -> x.index() > 0 && x.body().path("prompt").asText().equals(promptOf(w, r))).findFirst().orElseThrow();
                assertThat(r.completionTokens()).isEqualTo(16);
                assertThat(r.promptTokens()).isEqualTo(16);
                assertThat(r.contentChunks()).isEqualTo(16);
                assertThat(r.chunkGapsNanos()).hasSize(15);
                long serverTtft = s.chunkNanos().getFirst() - s.arrivalNanos();
                // The client clock starts before the request is written and stops after the chunk is read.
                ttftErrors.add(r.ttftNanos() - serverTtft);
                for (int i = 0; i < 15; i++) {
                    long serverGap = s.chunkNanos().get(i + 1) - s.chunkNanos().get(i);
                    gapErrors.add(Math.abs(r.itlNanos(i) - serverGap));
                }
                // Never below the nominal timing: 40 ms to the first token, 8 ms per token after it. (Above it the
                // fake server itself can be late on a busy machine; the medians below and the comparison with
                // what the server recorded are the tight checks.)
                assertThat(r.ttftNanos()).isGreaterThanOrEqualTo(40 * MS);
                assertThat(r.meanItlNanos()).isGreaterThanOrEqualTo(8 * MS);
                assertThat(r.e2eNanos()).isGreaterThanOrEqualTo(40 * MS + 15 * 8 * MS);
                e2eErrors.add(r.e2eNanos() - (s.chunkNanos().getLast() - s.arrivalNanos()));
            }
            System.out.println("ttft errors " + ttftErrors + " e2e errors " + e2eErrors);
            ttftErrors.sort(null);
            e2eErrors.sort(null);
            assertThat(e2eErrors.getFirst()).isGreaterThanOrEqualTo(0);
            // Loose enough for a busy two-core CI machine; typically 2-5 ms (the request's way in plus the JDK
            // client's hand-offs).
            assertThat(e2eErrors.get(e2eErrors.size() / 2)).isLessThan(10 * MS);
            gapErrors.sort(null);
            assertThat(ttftErrors.getFirst()).isGreaterThanOrEqualTo(0);
            assertThat(ttftErrors.get(ttftErrors.size() / 2)).isLessThan(8 * MS);
            assertThat(gapErrors.get(gapErrors.size() / 2)).isLessThan(MS);
            assertThat(gapErrors.get(gapErrors.size() * 9 / 10)).isLessThan(3 * MS);

            Summary s = Summaries.of(run, -1, -1);
            assertThat(s.requestsCompleted()).isEqualTo(6);
            assertThat(s.itl().p50()).isBetween(0.0075, 0.011);
            assertThat(s.ttft().p50()).isBetween(0.040, 0.052);
            assertThat(s.outputTokens()).isEqualTo(96);
        }
    }

    @Test
    void spreadsChunkGapsOverTheTokensTheyCarry() throws Exception {
        // 20 tokens in chunks of 4: 5 chunks, 4 gaps of 8 ms covering 19 token gaps.
        try (FakeOpenAiServer server = new FakeOpenAiServer(
                i -> FakeOpenAiServer.Behavior.ok(5 * MS, 8 * MS, 20).withTokensPerChunk(4).withCached(6));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(10))) {
            BenchTestSupport.warm(client);
            Workload w = new SyntheticWorkload(1, 12, 0, 20, 0, PromptText.uncalibrated(), 2);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Closed(1), -1, -1);
            for (RequestRecord r : run.records()) {
                assertThat(r.contentChunks()).isEqualTo(5);
                assertThat(r.tokensPerGap()).isEqualTo(19.0 / 4);
                long[] itl = new long[4];
                for (int i = 0; i < 4; i++) {
                    itl[i] = r.itlNanos(i);
                    assertThat(itl[i]).isEqualTo(Math.round(r.chunkGapsNanos()[i] / 4.75));
                }
                java.util.Arrays.sort(itl);
                assertThat(itl[2]).isBetween((long) (6 * MS / 4.75), (long) (14 * MS / 4.75));
                assertThat(r.cachedTokens()).isEqualTo(6);
            }
            Summary s = Summaries.of(run, -1, -1);
            assertThat(s.prefixCacheHitRate()).isEqualTo(0.5);
        }
    }

    @Test
    void goodputCountsOnlyRequestsWithinTheSlos() throws Exception {
        // Even requests are fast, odd ones have a slow first token.
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(
                i % 2 == 0 ? 2 * MS : 60 * MS, MS, 4));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(10))) {
            BenchTestSupport.warm(client);
            Workload w = new SyntheticWorkload(1, 8, 0, 4, 0, PromptText.uncalibrated(), 4);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Closed(1), -1, -1);
            Summary s = Summaries.of(run, 0.030, 0.050);
            assertThat(s.goodRequests()).isEqualTo(2);
            assertThat(s.goodput()).isCloseTo(s.requestThroughput() / 2, org.assertj.core.data.Offset.offset(1e-9));
        }
    }

    private static String promptOf(Workload w, RequestRecord r) {
        // Synthetic prompts are a pure function of the seed and the index; rebuild the same one.
        SyntheticWorkload copy = new SyntheticWorkload(1, 16, 0, 16, 0, PromptText.uncalibrated(), 6);
        String tag = r.tag();
        for (Conversation c = copy.next(); c != null; c = copy.next()) {
            RequestSpec spec = c.next(null);
            if (spec.tag().equals(tag)) {
                return spec.prompt();
            }
        }
        throw new AssertionError("no prompt for " + tag);
    }
}
