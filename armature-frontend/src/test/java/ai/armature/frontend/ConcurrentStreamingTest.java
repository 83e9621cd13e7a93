package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** 64 clients stream at once: every stream completes, and the tokens each received match its usage. */
class ConcurrentStreamingTest {

    private static final int CLIENTS = 64;

    @Test
    void sixtyFourSimultaneousStreamsAllComplete() throws Exception {
        try (TestServer s = new TestServer()) {
            s.engine.reply = r -> "token stream of a concurrent client number " + r.promptTokens().length + ".";
            s.engine.tokenDelayNanos = 200_000; // keep all 64 streams open at the same time
            List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                String prompt = "client " + "x".repeat(i);
                String body = i % 2 == 0
                        ? "{\"prompt\":\"" + prompt + "\",\"max_tokens\":256,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
                        : "{\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}],\"stream\":true,"
                          + "\"stream_options\":{\"include_usage\":true}}";
                String path = i % 2 == 0 ? "/v1/completions" : "/v1/chat/completions";
                futures.add(s.http.sendAsync(s.post(path, body).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < CLIENTS; i++) {
                HttpResponse<String> r = futures.get(i).get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                List<String> events = TestServer.events(r.body());
                assertThat(events.getLast()).isEqualTo("[DONE]");
                StringBuilder text = new StringBuilder();
                for (String e : events.subList(0, events.size() - 2)) {
                    JsonNode c = TestServer.json(e).at("/choices/0");
                    text.append(i % 2 == 0 ? c.get("text").asText() : c.at("/delta/content").asText(""));
                }
                JsonNode usage = TestServer.json(events.get(events.size() - 2)).get("usage");
                // the byte tokenizer makes one token per ASCII character
                assertThat(usage.get("completion_tokens").asInt()).isEqualTo(text.length()).isGreaterThan(40);
                assertThat(text.toString()).startsWith("token stream of a concurrent client number");
            }
            assertThat(s.engine.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(s.server.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(s.engine.submittedCount()).isEqualTo(CLIENTS);
        }
    }
}
