package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Polite on the wire, over raw sockets: Connection: close and HTTP/1.0 honoured, garbage answered with a 400, slow
 * and silent clients timed out (deadlines checked by sweeping at a later virtual time), clients that hang up cancel
 * their request (streaming or not) and an aborted upload is one warning, HEAD and OPTIONS, 405, CORS.
 */
class WireTest {

    private static final long SECOND = 1_000_000_000L;
    private static TestServer s;
    private static final List<LogRecord> logged = java.util.Collections.synchronizedList(new ArrayList<>());
    private static final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) logged.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeAll
    static void start() {
        s = new TestServer(c -> c.withApiKeys(Set.of()).withAllowedOrigins(Set.of("https://app.example.com")));
        Logger.getLogger("").addHandler(capture);
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("").removeHandler(capture);
        s.close();
    }

    @AfterEach
    void idle() throws Exception {
        s.engine.gate = null;
        s.engine.reply = r -> FakeEngine.DEFAULT_REPLY;
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(30))).isTrue();
        assertThat(s.server.awaitIdle(Duration.ofSeconds(30))).isTrue();
    }

    private static String post(String path, String body, String version, String extraHeaders) {
        return "POST " + path + " " + version + "\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                + body.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + "\r\n" + extraHeaders + "\r\n" + body;
    }

    @Test
    void connectionCloseIsHonoured() throws Exception {
        try (RawSocket c = new RawSocket(s.port)) {
            String reply = c.send(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}", "HTTP/1.1", "Connection: close\r\n"))
                    .readToEnd();
            assertThat(reply).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close").endsWith("}");
            assertThat(TestServer.json(reply.substring(reply.indexOf("\r\n\r\n") + 4)).at("/choices/0/text").asText()).isEqualTo("The");
        }
        // Streaming too: the client reading to the end of the stream gets it all, then EOF.
        try (RawSocket c = new RawSocket(s.port)) {
            String reply = c.send(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3,\"stream\":true}", "HTTP/1.1",
                    "Connection: close\r\n")).readToEnd();
            assertThat(reply).contains("data: [DONE]");
        }
    }

    @Test
    void http10RequestsAreAnsweredAndStreamsAreCloseDelimited() throws Exception {
        try (RawSocket c = new RawSocket(s.port)) {
            String reply = c.send("GET /health HTTP/1.0\r\n\r\n").readToEnd();
            assertThat(reply).startsWith("HTTP/1.1 200").contains("\"ready\"");
        }
        try (RawSocket c = new RawSocket(s.port)) {
            String reply = c.send(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}", "HTTP/1.0", "")).readToEnd();
            assertThat(reply).startsWith("HTTP/1.1 200");
            String body = reply.substring(reply.indexOf("\r\n\r\n") + 4);
            assertThat(TestServer.json(body).at("/choices/0/text").asText()).isEqualTo("The");
        }
        try (RawSocket c = new RawSocket(s.port)) {
            String reply = c.send(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3,\"stream\":true}", "HTTP/1.0",
                    "Connection: keep-alive\r\n")).readToEnd();
            String head = reply.substring(0, reply.indexOf("\r\n\r\n"));
            String body = reply.substring(reply.indexOf("\r\n\r\n") + 4);
            assertThat(head).doesNotContainIgnoringCase("transfer-encoding").containsIgnoringCase("connection: close");
            // No chunk framing: the body is the event stream itself, ended by the close.
            assertThat(body).startsWith("data: {").endsWith("data: [DONE]\n\n");
            StringBuilder text = new StringBuilder();
            for (String e : TestServer.events(body)) {
                if (!e.equals("[DONE]")) text.append(TestServer.json(e).at("/choices/0/text").asText(""));
            }
            assertThat(text.toString()).isEqualTo("The");
        }
    }

    @Test
    void garbageGetsA400AndNothingIsLogged() throws Exception {
        int before = logged.size();
        try (RawSocket c = new RawSocket(s.port)) {
            String reply = c.send("GARBAGE\r\n\r\n").readToEnd();
            assertThat(reply).startsWith("HTTP/1.1 400");
            JsonNode e = TestServer.json(reply.substring(reply.indexOf("\r\n\r\n") + 4)).get("error");
            assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        }
        try (RawSocket c = new RawSocket(s.port)) {
            assertThat(c.send(new byte[] {0, 1, 2, 3, (byte) 0xff, '\r', '\n'}).readToEnd()).startsWith("HTTP/1.1 400");
        }
        // A client that hangs up in the middle of its first line: nothing to answer, nothing to log.
        try (RawSocket c = new RawSocket(s.port)) {
            c.send("GET /heal");
        }
        assertThat(s.get("/live").statusCode()).isEqualTo(200); // the server is fine
        assertThat(logged.subList(before, logged.size())).isEmpty();
    }

    @Test
    void slowAndSilentClientsAreClosedAtTheHeaderTimeout() throws Exception {
        int before = s.server.acceptedConnections();
        try (RawSocket silent = new RawSocket(s.port); RawSocket slow = new RawSocket(s.port);
             RawSocket slowBody = new RawSocket(s.port); RawSocket idle = new RawSocket(s.port)) {
            slow.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n");
            idle.send("GET /live HTTP/1.1\r\nHost: localhost\r\n\r\n").readUntil("\"alive\"}");
            slowBody.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100\r\n\r\n{\"prompt\":");
            s.server.awaitConnections(before, 4);
            // 31 virtual seconds later: the three that owe the server bytes are closed; the idle keep-alive
            // connection (answered, waiting for its next request) is the idle timeout's business, not this.
            s.server.sweepConnections(System.nanoTime() + 31 * SECOND);
            assertThat(silent.readToEnd()).isEmpty();
            assertThat(slow.readToEnd()).isEmpty();
            assertThat(slowBody.readToEnd()).isEmpty();
            // The idle one is still open: it answers its next request.
            assertThat(idle.send("GET /live HTTP/1.1\r\nHost: localhost\r\n\r\n").readUntil("\"alive\"}")).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void idleKeepAliveConnectionsCloseAtTheIdleTimeout() throws Exception {
        try (TestServer quick = new TestServer(c -> c.withApiKeys(Set.of()).withConnectionLimits(Duration.ofSeconds(30),
                Duration.ofSeconds(1), 100)); RawSocket c = new RawSocket(quick.port)) {
            c.send("GET /live HTTP/1.1\r\nHost: x\r\n\r\n").readUntil("\"alive\"}");
            // Helidon's idle check closes it about a second later; the hang guard only bounds a failure.
            assertThat(c.readToEnd()).isEmpty();
        }
    }

    @Test
    void aClientGoneDuringANonStreamingRequestCancelsIt() throws Exception {
        int warnings = logged.size();
        s.engine.gate = new Semaphore(0);
        int cancelled = s.engine.cancelledCount();
        try (RawSocket c = new RawSocket(s.port)) {
            c.send(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":30}", "HTTP/1.1", ""));
            s.engine.awaitActive(1); // the request reached the engine
        }
        // Nothing more is written to that socket until the engine would finish: the pump saw the end of the stream.
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(30))).isTrue();
        assertThat(s.engine.cancelledCount()).isEqualTo(cancelled + 1);
        assertThat(s.server.awaitIdle(Duration.ofSeconds(30))).isTrue();
        assertThat(s.get("/metrics").body()).contains("armature_requests_total{endpoint=\"/v1/completions\",status=\"499\"}");
        assertThat(logged.subList(warnings, logged.size())).as("a client that leaves is routine: no warning").isEmpty();
    }

    @Test
    void anAbortedUploadIsA499AndOneWarningWithoutATrace() throws Exception {
        int before = logged.size();
        try (RawSocket c = new RawSocket(s.port)) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    + "{\"prompt\":\"" + "y".repeat(100));
        }
        String metrics = null;
        for (int i = 0; i < 3000 && (metrics == null || !metrics.contains("status=\"499\"")); i++) {
            metrics = s.get("/metrics").body(); // until the handler has noticed (bounded by the loop, not by time)
        }
        List<LogRecord> mine = List.copyOf(logged.subList(before, logged.size()));
        assertThat(mine).as(mine.stream().map(r -> r.getLoggerName() + ": " + r.getMessage() + " " + r.getThrown()).toList().toString())
                .hasSize(1);
        assertThat(mine.getFirst().getLevel()).isEqualTo(Level.WARNING);
        assertThat(mine.getFirst().getThrown()).isNull();
        assertThat(mine.getFirst().getMessage()).contains("request body");
    }

    @Test
    void headOptionsAndWrongMethods() throws Exception {
        HttpResponse<String> head = s.send(HttpRequest.newBuilder(s.uri("/health")).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(head.headers().firstValueAsLong("content-length").orElse(0)).isEqualTo(s.get("/health").body().length());
        HttpResponse<String> options = s.send(HttpRequest.newBuilder(s.uri("/v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(options.statusCode()).isEqualTo(204);
        assertThat(options.headers().firstValue("allow")).hasValue("POST, OPTIONS");
        HttpResponse<String> wrong = s.get("/v1/chat/completions");
        assertThat(wrong.statusCode()).isEqualTo(405);
        assertThat(wrong.headers().firstValue("allow")).hasValue("POST, OPTIONS");
        assertThat(TestServer.json(wrong.body()).at("/error/message").asText()).contains("GET").contains("POST");
        assertThat(s.send(HttpRequest.newBuilder(s.uri("/nope")).method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build())
                .statusCode()).isEqualTo(404);
    }

    @Test
    void corsForTheAllowedOriginsOnly() throws Exception {
        HttpResponse<String> preflight = s.send(HttpRequest.newBuilder(s.uri("/v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://app.example.com").header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os").build());
        assertThat(preflight.statusCode()).isEqualTo(204);
        assertThat(preflight.headers().firstValue("access-control-allow-origin")).hasValue("https://app.example.com");
        assertThat(preflight.headers().firstValue("access-control-allow-methods").orElseThrow()).contains("POST");
        assertThat(preflight.headers().firstValue("access-control-allow-headers").orElseThrow()).contains("x-stainless-os");
        HttpResponse<String> actual = s.send(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}")
                .header("Origin", "https://app.example.com").build());
        assertThat(actual.headers().firstValue("access-control-allow-origin")).hasValue("https://app.example.com");
        assertThat(actual.headers().firstValue("vary")).hasValue("Origin");

        HttpResponse<String> other = s.send(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}")
                .header("Origin", "https://evil.example.com").build());
        assertThat(other.headers().firstValue("access-control-allow-origin")).isEmpty();
        assertThat(s.send(HttpRequest.newBuilder(s.uri("/v1/chat/completions")).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://evil.example.com").header("Access-Control-Request-Method", "POST").build()).statusCode())
                .isEqualTo(403);
    }

    @Test
    void withoutAllowedOriginsThereAreNoCorsHeaders() throws Exception {
        try (TestServer plain = new TestServer()) {
            HttpResponse<String> r = plain.send(plain.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}")
                    .header("Origin", "https://app.example.com").build());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("access-control-allow-origin")).isEmpty();
        }
    }

    @Test
    void theConnectionLimitHoldsFurtherConnectionsBack() throws Exception {
        try (TestServer two = new TestServer(c -> c.withApiKeys(Set.of()).withConnectionLimits(Duration.ofSeconds(30),
                Duration.ofSeconds(60), 2))) {
            try (RawSocket a = new RawSocket(two.port); RawSocket b = new RawSocket(two.port)) {
                a.send("GET /live HTTP/1.1\r\nHost: x\r\n\r\n").readUntil("alive");
                b.send("GET /live HTTP/1.1\r\nHost: x\r\n\r\n").readUntil("alive");
                try (RawSocket third = new RawSocket(two.port)) {
                    third.send("GET /live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    // Both slots are held by open connections: the third waits to be accepted (silence can only
                    // pass the check; an answer here would mean the limit did nothing).
                    assertThat(third.answersWithin(300)).isFalse();
                    a.close();
                    assertThat(third.readToEnd()).contains("alive");
                }
            }
        }
    }

    @Test
    void aPortInUseIsOneLineAndNothingLogged() {
        int before = logged.size();
        OpenAiServer second = new OpenAiServer(FrontendConfig.defaults(TestServer.MODEL).withHost("127.0.0.1").withPort(s.port),
                s.engine, new ByteTokenizer(true), new ImChatTemplate());
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(second::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("127.0.0.1:" + s.port).hasMessageContaining("already in use").message().doesNotContain("\n");
        } finally {
            second.close();
        }
        assertThat(logged.subList(before, logged.size())).as("Helidon's SEVERE bind traces").isEmpty();
    }

    @Test
    void helidonFindsOurLoggingProvider() {
        // Without one Helidon prints "There is no Helidon logging implementation on classpath" on every start.
        assertThat(java.util.ServiceLoader.load(io.helidon.logging.common.spi.LoggingProvider.class).stream()
                .map(p -> p.type().getName()).toList()).containsExactly(HelidonLogging.class.getName());
    }

    @Test
    void http2CleartextStillWorks() throws Exception {
        // The JDK client upgrades an http:// connection to h2c; the guard must hand HTTP/2 to Helidon's HTTP/2.
        java.net.http.HttpClient h2 = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
        HttpResponse<String> first = h2.send(HttpRequest.newBuilder(s.uri("/live")).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> second = h2.send(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(second.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
        assertThat(TestServer.json(second.body()).at("/choices/0/text").asText()).isEqualTo("The");
    }
}
