package ai.armature.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Shared helpers for the bench tests. */
final class BenchTestSupport {

    private BenchTestSupport() {
    }

    static OpenAiClient client(FakeOpenAiServer server, Duration timeout) {
        return new OpenAiClient(server.url(), "fake-model", null, timeout, true);
    }

    /** Sends one request so class loading and connection set-up do not land in the measured requests. */
    static void warm(OpenAiClient client) {
        client.send(RequestSpec.completion("warm up", 2, 2, "warm-up"), Endpoint.COMPLETIONS, -1, System.nanoTime(),
                -1, false);
    }

    /** A config with small defaults that tests override through the record's copy methods below. */
    static BenchConfig config(String url, String workload, Path out) {
        return new BenchConfig(url, null, null, workload, null, List.of(2), List.of(), 6, null, 0, 42,
                Duration.ofSeconds(10), -1, -1, 32, 0, 8, 0, 2, 3, 64, 8, 2, 3, Duration.ZERO, 0, null, 1.0, 512,
                true, true, false, out, true);
    }

    /** The fixtures directory next to the repository root, or null when absent. */
    static Path fixtures() {
        Path dir = Path.of("").toAbsolutePath();
        for (; dir != null; dir = dir.getParent()) {
            Path f = dir.resolve("shared/fixtures");
            if (Files.isDirectory(f)) {
                return f;
            }
            Path g = dir.resolve("../shared/fixtures").normalize();
            if (Files.isDirectory(g)) {
                return g;
            }
        }
        return null;
    }

    /** Lets {@code stream} see a 200 response with no headers, as the HTTP client would before the body. */
    static void respond200(SseStream stream) {
        stream.handler().apply(new java.net.http.HttpResponse.ResponseInfo() {
            @Override
            public int statusCode() {
                return 200;
            }

            @Override
            public java.net.http.HttpHeaders headers() {
                return java.net.http.HttpHeaders.of(java.util.Map.of(), (a, b) -> true);
            }

            @Override
            public java.net.http.HttpClient.Version version() {
                return java.net.http.HttpClient.Version.HTTP_1_1;
            }
        });
    }
}
