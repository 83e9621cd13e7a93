package ai.armature.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The adapter's HTTP calls to one upstream, on the JDK's client over HTTP/1.1 (what vLLM's, SGLang's and
 * llama-server's servers speak; a closed connection is how each of them learns that a streamed request was
 * abandoned). Streamed bodies are read as an {@link InputStream}; closing it before the end closes the connection.
 */
final class UpstreamHttp implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    private final UpstreamConfig config;
    private final HttpClient client;

    UpstreamHttp(UpstreamConfig config) {
        this.config = config;
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(config.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** A JSON GET; throws {@link UpstreamHttpException} on a non-2xx status. */
    JsonNode get(String path, Duration timeout) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = client.send(request(path, timeout).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        return json(path, r);
    }

    /** The status of a GET, for health checks; the body is discarded. */
    int status(String path, Duration timeout) throws IOException, InterruptedException {
        return client.send(request(path, timeout).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** A JSON POST answered by one JSON body; throws {@link UpstreamHttpException} on a non-2xx status. */
    JsonNode post(String path, JsonNode body, Duration timeout) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = client.send(request(path, timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build(), HttpResponse.BodyHandlers.ofByteArray());
        return json(path, r);
    }

    /**
     * A JSON POST whose answer is streamed: returns once the status and headers arrived (within the request
     * timeout); the caller reads and closes the body.
     */
    HttpResponse<InputStream> stream(String path, JsonNode body, String requestId) throws IOException, InterruptedException {
        HttpRequest req = request(path, config.requestTimeout()).header("Content-Type", "application/json")
                .header("Accept", "text/event-stream").header("X-Request-Id", requestId)
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        return client.send(req, HttpResponse.BodyHandlers.ofInputStream());
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        HttpRequest.Builder b = HttpRequest.newBuilder(config.resolve(path)).timeout(timeout);
        if (config.apiKey() != null) b.header("Authorization", "Bearer " + config.apiKey());
        return b;
    }

    private static JsonNode json(String path, HttpResponse<byte[]> r) throws IOException {
        if (r.statusCode() / 100 != 2) throw new UpstreamHttpException(path, r.statusCode(), errorMessage(r.body()));
        return JSON.readTree(r.body());
    }

    /** The message of an error body (OpenAI's {@code {"error": {"message"}}}, FastAPI's {@code {"detail"}}, or the text). */
    static String errorMessage(byte[] body) {
        String text = new String(body, java.nio.charset.StandardCharsets.UTF_8).strip();
        try {
            JsonNode n = JSON.readTree(text);
            if (n != null) {
                JsonNode e = n.get("error");
                if (e != null && e.isObject() && e.path("message").isTextual()) return e.get("message").asText();
                if (e != null && e.isTextual()) return e.asText();
                if (n.path("message").isTextual()) return n.get("message").asText();
                if (n.has("detail")) return n.get("detail").toString();
            }
        } catch (IOException ignored) {
            // not JSON: the text itself
        }
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }

    @Override
    public void close() {
        client.close();
    }

    /** A non-2xx answer: the path, the status and the upstream's message. */
    static final class UpstreamHttpException extends IOException {
        final int status;
        final String upstreamMessage;

        UpstreamHttpException(String path, int status, String message) {
            super(path + " answered " + status + (message.isEmpty() ? "" : ": " + message));
            this.status = status;
            this.upstreamMessage = message;
        }
    }
}
