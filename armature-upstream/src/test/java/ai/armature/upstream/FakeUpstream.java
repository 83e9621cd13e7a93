package ai.armature.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A scripted OpenAI-compatible server on loopback for the adapter's unit tests: /v1/models, /health (status set by
 * the test), the one-token probe, and streamed completions answered by the test's {@link Script}.
 */
final class FakeUpstream implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Writes the answer to one streamed request. */
    @FunctionalInterface
    interface Script {
        void answer(JsonNode request, Sse out) throws IOException, InterruptedException;
    }

    /** The response side: status, then SSE events. */
    static final class Sse {
        private final HttpExchange exchange;
        private OutputStream out;

        Sse(HttpExchange exchange) {
            this.exchange = exchange;
        }

        void status(int status, String body) throws IOException {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, b.length);
            exchange.getResponseBody().write(b);
            exchange.close();
        }

        void data(String json) throws IOException {
            if (out == null) {
                exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
                exchange.sendResponseHeaders(200, 0);
                out = exchange.getResponseBody();
            }
            out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        void done() throws IOException {
            data("[DONE]");
            exchange.close();
        }

        /** Ends the response without a finish (the upstream went away). */
        void hangUp() {
            exchange.close();
        }
    }

    final AtomicInteger healthStatus = new AtomicInteger(200);
    final AtomicReference<Script> script = new AtomicReference<>();
    final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    FakeUpstream(int contextLength) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/models", ex -> reply(ex, 200,
                "{\"object\":\"list\",\"data\":[{\"id\":\"up-model\",\"object\":\"model\",\"max_model_len\":" + contextLength + "}]}"));
        server.createContext("/health", ex -> reply(ex, healthStatus.get(), ""));
        server.createContext("/v1/completions", ex -> {
            JsonNode body = JSON.readTree(ex.getRequestBody());
            if (!body.path("stream").asBoolean(false)) {
                reply(ex, 200, "{\"choices\":[{\"index\":0,\"text\":\"x\",\"token_ids\":[7],\"finish_reason\":\"length\"}]}");
                return;
            }
            requests.add(body);
            try {
                script.get().answer(body, new Sse(ex));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                ex.close();
            }
        });
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) ex.getResponseBody().write(b);
        ex.close();
    }

    static String tokens(String text, int... ids) {
        StringBuilder s = new StringBuilder("{\"choices\":[{\"index\":0,\"text\":" + quote(text) + ",\"finish_reason\":null,\"token_ids\":[");
        for (int i = 0; i < ids.length; i++) s.append(i == 0 ? "" : ",").append(ids[i]);
        return s.append("]}]}").toString();
    }

    static String finish(String reason) {
        return "{\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"" + reason + "\",\"token_ids\":[]}]}";
    }

    static String usage(int prompt, int completion, int cached) {
        return "{\"choices\":[],\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":" + completion
                + ",\"prompt_tokens_details\":{\"cached_tokens\":" + cached + "}}}";
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
