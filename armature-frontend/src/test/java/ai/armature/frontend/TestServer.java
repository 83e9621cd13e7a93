package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** A server on a free port over a {@link FakeEngine}, with small raw-HTTP helpers for tests. */
final class TestServer implements AutoCloseable {

    static final String MODEL = "test-model";
    static final String KEY = "sk-test";
    static final ObjectMapper JSON = new ObjectMapper();

    final FakeEngine engine = new FakeEngine();
    final OpenAiServer server;
    final int port;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    TestServer() {
        this(c -> c);
    }

    TestServer(java.util.function.UnaryOperator<FrontendConfig> customize) {
        this(customize, new ByteTokenizer(true));
    }

    TestServer(java.util.function.UnaryOperator<FrontendConfig> customize, ai.armature.engine.tokenizer.Tokenizer tokenizer) {
        FrontendConfig config = customize.apply(FrontendConfig.defaults(MODEL).withHost("127.0.0.1").withPort(0)
                .withApiKeys(Set.of(KEY)).withShutdownGracePeriod(Duration.ofSeconds(5)));
        server = new OpenAiServer(config, engine, tokenizer, new ImChatTemplate());
        port = server.start();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    HttpRequest.Builder post(String path, String body) {
        return HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    }

    HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String body, boolean auth) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (auth) b.header("Authorization", "Bearer " + KEY);
        return send(b.build());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + KEY).GET().build());
    }

    static JsonNode json(String s) throws IOException {
        return JSON.readTree(s);
    }

    /** The JSON payloads of an SSE body's {@code data:} events, in order ("[DONE]" kept as text). */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.isBlank()) continue;
            if (!event.startsWith("data: ")) throw new AssertionError("not an SSE data event: " + event);
            out.add(event.substring(6));
        }
        return out;
    }

    @Override
    public void close() {
        server.close();
        engine.close();
    }
}
