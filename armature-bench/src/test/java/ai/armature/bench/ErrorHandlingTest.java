package ai.armature.bench;

import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Server errors, dropped connections, timeouts and garbage are counted by kind and never end the run. */
class ErrorHandlingTest {

    @Test
    void countsEveryKindOfFailureAndKeepsGoing() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> switch (i) {
            case 0 -> FakeOpenAiServer.Behavior.status(500);
            case 1 -> FakeOpenAiServer.Behavior.dropAfter(3);
            case 2 -> FakeOpenAiServer.Behavior.hanging();
            case 3 -> FakeOpenAiServer.Behavior.garbage();
            case 4 -> FakeOpenAiServer.Behavior.status(429);
            case 5 -> FakeOpenAiServer.Behavior.stallAfter(2);
            default -> FakeOpenAiServer.Behavior.ok(0, 0, 5);
        }); OpenAiClient client = BenchTestSupport.client(server, Duration.ofMillis(400))) {
            Workload w = new SyntheticWorkload(3, 8, 0, 5, 0, PromptText.uncalibrated(), 8);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Closed(1), -1, -1);
            assertThat(run.records()).hasSize(8);
            Summary s = Summaries.of(run, -1, -1);
            assertThat(s.requestsCompleted()).isEqualTo(2);
            assertThat(s.requestsFailed()).isEqualTo(6);
            assertThat(s.errorsByKind()).containsExactlyInAnyOrderEntriesOf(Map.of(
                    "http_500", 1L, "http_429", 1L, "connection_dropped", 1L, "timeout", 2L, "malformed", 1L));
            // A stream that stalls after its first tokens is cut off at the request timeout too (the hanging one and the
            // stalled one would otherwise never end); neither is given up before the timeout.
            RequestRecord stalled = run.records().stream().filter(r -> r.error() == ErrorKind.TIMEOUT
                    && r.contentChunks() == 2).findFirst().orElseThrow();
            assertThat(stalled.e2eNanos()).isGreaterThanOrEqualTo(400_000_000L);
            assertThat(run.records().stream().filter(r -> r.error() == ErrorKind.TIMEOUT))
                    .allMatch(r -> r.e2eNanos() >= 400_000_000L);
            RequestRecord http = run.records().stream().filter(r -> r.httpStatus() == 500).findFirst().orElseThrow();
            assertThat(http.errorMessage()).contains("injected failure");
            assertThat(Json.summary(s).get("errors_by_kind").get("timeout").asLong()).isEqualTo(2);
        }
    }

    @Test
    void aServerThatIsNotThereIsAConnectionError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (OpenAiClient client = new OpenAiClient("http://127.0.0.1:" + port, "m", null, Duration.ofSeconds(2), true)) {
            Workload w = new SyntheticWorkload(3, 8, 0, 5, 0, PromptText.uncalibrated(), 2);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Closed(1), -1, -1);
            assertThat(run.records()).hasSize(2).allMatch(r -> r.error() == ErrorKind.CONNECTION_REFUSED);
        }
    }
}
