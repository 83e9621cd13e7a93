package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

import static org.assertj.core.api.Assertions.assertThat;

/** Every error the API promises, over raw HTTP: status, OpenAI error body, and nothing left in flight afterwards. */
class RawHttpErrorsTest {

    private static TestServer s;

    @BeforeAll
    static void start() {
        s = new TestServer(c -> c.withMaxBodyBytes(64 * 1024));
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    @AfterEach
    void nothingLeaks() throws Exception {
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(5))).as("engine idle").isTrue();
        assertThat(s.server.awaitIdle(Duration.ofSeconds(5))).as("frontend idle").isTrue();
    }

    private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode e = TestServer.json(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.has("message") && e.has("type") && e.has("param") && e.has("code")).as(r.body()).isTrue();
        assertThat(e.get("message").asText()).isNotBlank();
        return e;
    }

    @Test
    void malformedJsonIs400() throws Exception {
        JsonNode e = error(s.post("/v1/chat/completions", "{\"model\": \"test-model\", \"messages\": [", true), 400);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("message").asText()).contains("parse");
        error(s.post("/v1/completions", "[1, 2]", true), 400);
        error(s.post("/v1/completions", "", true), 400);
    }

    @Test
    void missingOrInvalidParametersNameTheParameter() throws Exception {
        assertThat(error(s.post("/v1/chat/completions", "{\"model\":\"test-model\"}", true), 400).get("param").asText()).isEqualTo("messages");
        assertThat(error(s.post("/v1/completions", "{\"model\":\"test-model\"}", true), 400).get("param").asText()).isEqualTo("prompt");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\",\"temperature\":3}", true), 400).get("param").asText()).isEqualTo("temperature");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}", true), 400).get("param").asText()).isEqualTo("max_tokens");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\",\"n\":0}", true), 400).get("param").asText()).isEqualTo("n");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\",\"top_p\":\"high\"}", true), 400).get("param").asText()).isEqualTo("top_p");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":[1, 99999]}", true), 400).get("param").asText()).isEqualTo("prompt");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\",\"stop\":[\"\"]}", true), 400).get("param").asText()).isEqualTo("stop");
        assertThat(error(s.post("/v1/chat/completions", "{\"messages\":[{\"content\":\"hi\"}]}", true), 400).get("param").asText())
                .isEqualTo("messages[0].role");
        assertThat(error(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_logprobs\":2}", true), 400)
                .get("param").asText()).isEqualTo("top_logprobs");
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}", true), 400)
                .get("param").asText()).isEqualTo("stream_options");
    }

    @Test
    void responseFormatBecomesTheRequestsConstraint() throws Exception {
        HttpResponse<String> ok = s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\",\"strict\":true,"
                + "\"schema\":{\"type\":\"object\"}}},\"max_tokens\":2}", true);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(s.engine.requests().getLast().constraint()).isEqualTo(ai.armature.protocol.OutputConstraint.jsonSchema("{\"type\":\"object\"}"));
        ok = s.post("/v1/completions", "{\"prompt\":\"hi\",\"response_format\":{\"type\":\"json_object\"},\"max_tokens\":2}", true);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(s.engine.requests().getLast().constraint()).isEqualTo(ai.armature.protocol.OutputConstraint.jsonObject());
        ok = s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"text\"},\"max_tokens\":2}", true);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(s.engine.requests().getLast().constraint()).isNull();
        for (String bad : new String[] {"{\"type\":\"xml\"}", "{\"type\":\"json_schema\"}", "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":3}}",
                "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{},\"strict\":\"yes\"}}", "\"json\""}) {
            JsonNode e = error(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":" + bad + "}", true), 400);
            assertThat(e.get("param").asText()).as(bad).isEqualTo("response_format");
        }
    }

    @Test
    void chatTemplateRejectionIs400() throws Exception {
        JsonNode e = error(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"developer\",\"content\":\"hi\"}]}", true), 400);
        // An OpenAI role this model's template does not render.
        assertThat(e.get("param").asText()).isEqualTo("messages");
        assertThat(e.get("message").asText()).contains("developer");
    }

    @Test
    void unknownModelIs404() throws Exception {
        JsonNode e = error(s.post("/v1/completions", "{\"model\":\"gpt-17\",\"prompt\":\"x\"}", true), 404);
        assertThat(e.get("code").asText()).isEqualTo("model_not_found");
        assertThat(e.get("message").asText()).contains("gpt-17").contains(TestServer.MODEL);
        error(s.get("/v1/models/gpt-17"), 404);
    }

    @Test
    void promptPlusMaxTokensBeyondContextIs400WithBothNumbers() throws Exception {
        JsonNode e = error(s.post("/v1/completions", "{\"prompt\":\"hello\",\"max_tokens\":4095}", true), 400);
        // "hello" is 5 bytes + BOS = 6 prompt tokens; the fake engine's context is 4096.
        assertThat(e.get("message").asText()).contains("4096").contains("6 in the prompt").contains("4095");
        assertThat(e.get("param").asText()).isEqualTo("max_tokens");
        String longPrompt = "x".repeat(4100);
        assertThat(error(s.post("/v1/completions", "{\"prompt\":\"" + longPrompt + "\"}", true), 400).get("message").asText())
                .contains("4096").contains("4101");
    }

    @Test
    void missingOrWrongApiKeyIs401() throws Exception {
        int submittedBefore = s.engine.submittedCount();
        JsonNode e = error(s.post("/v1/completions", "{\"prompt\":\"x\"}", false), 401);
        assertThat(e.get("code").asText()).isEqualTo("invalid_api_key");
        HttpResponse<String> wrong = s.send(HttpRequest.newBuilder(s.uri("/v1/completions")).header("Authorization", "Bearer nope")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")).build());
        error(wrong, 401);
        error(s.send(HttpRequest.newBuilder(s.uri("/v1/models")).GET().build()), 401);
        assertThat(s.engine.submittedCount()).isEqualTo(submittedBefore);
    }

    @Test
    void featuresThatDoNotExistYetAreRefusedNotIgnored() throws Exception {
        assertThat(error(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}", true), 400).get("param").asText())
                .isEqualTo("messages[0].content");
    }

    @Test
    void withoutConfiguredKeysNoAuthIsNeeded() throws Exception {
        try (TestServer open = new TestServer(c -> c.withApiKeys(java.util.Set.of()))) {
            HttpResponse<String> r = open.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2}", false);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        String big = "{\"prompt\":\"" + "y".repeat(100 * 1024) + "\"}";
        JsonNode e = error(s.post("/v1/completions", big, true), 413);
        assertThat(e.get("message").asText()).contains("65536");
        // the connection stays usable for the next request
        assertThat(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", true).statusCode()).isEqualTo(200);
    }

    @Test
    void unknownUrlIs404InOpenAiShape() throws Exception {
        error(s.get("/v1/engines"), 404);
        error(s.get("/v1/chat/completions"), 405); // a known path: the method is wrong, not the URL
    }

    @Test
    void unknownFieldsAreIgnored() throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3,\"frobnicate\":{\"a\":[1]},\"user\":\"u1\"}", true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(TestServer.json(r.body()).at("/choices/0/text").asText()).isEqualTo("The");
    }

    @Test
    void engineQueueFullIs429WithRetryAfter() throws Exception {
        s.engine.maxActive = 0;
        try {
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"x\"}", true);
            error(r, 429);
            assertThat(r.headers().firstValue("retry-after")).isPresent();
        } finally {
            s.engine.maxActive = Integer.MAX_VALUE;
        }
    }

    @Test
    void frontendLimitIs429AndReleasesItsSlot() throws Exception {
        try (TestServer one = new TestServer(c -> c.withMaxInFlightRequests(1))) {
            one.engine.gate = new Semaphore(0);
            CompletableFuture<HttpResponse<String>> first = one.http.sendAsync(
                    one.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}").build(), HttpResponse.BodyHandlers.ofString());
            while (one.engine.submittedCount() == 0) Thread.onSpinWait(); // the first request holds the only slot
            HttpResponse<String> second = one.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}", true);
            error(second, 429);
            assertThat(second.headers().firstValue("retry-after")).hasValue("1");
            one.engine.gate.release(100);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(one.server.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(one.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}", true).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void engineErrorIs500OrAnErrorEvent() throws Exception {
        s.engine.failWith = "simulated device failure";
        try {
            JsonNode e = error(s.post("/v1/completions", "{\"prompt\":\"x\"}", true), 500);
            assertThat(e.get("message").asText()).contains("simulated device failure");
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"x\",\"stream\":true}", true);
            assertThat(r.statusCode()).isEqualTo(200);
            var events = TestServer.events(r.body());
            assertThat(events.getLast()).contains("\"error\"").contains("simulated device failure");
        } finally {
            s.engine.failWith = null;
        }
    }

    @Test
    void aRequestNoWorkerCouldFinishIs503WithRetryAfterOnEveryApiAndAnErrorEventOnceStreaming() throws Exception {
        s.engine.failWith = "lost worker w1; not migrated: the limit (--migration-limit) is 0";
        s.engine.failKind = ai.armature.protocol.GenerateOutput.ErrorKind.UNAVAILABLE;
        try {
            for (String[] api : new String[][] {{"/v1/completions", "{\"prompt\":\"x\"}"},
                    {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"}}) {
                HttpResponse<String> r = s.post(api[0], api[1], true);
                JsonNode e = error(r, 503);
                assertThat(e.get("type").asText()).isEqualTo("server_error");
                assertThat(e.get("code").asText()).isEqualTo("service_unavailable");
                assertThat(e.get("message").asText()).contains("--migration-limit").doesNotContain("generation failed");
                assertThat(r.headers().firstValue("retry-after")).as(api[0]).isPresent();
            }
            HttpResponse<String> messages = s.post("/v1/messages", "{\"model\":\"test-model\",\"max_tokens\":8,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true);
            assertThat(messages.statusCode()).as(messages.body()).isEqualTo(503);
            assertThat(TestServer.json(messages.body()).at("/error/type").asText()).isEqualTo("overloaded_error");
            assertThat(messages.headers().firstValue("retry-after")).isPresent();
            HttpResponse<String> responses = s.post("/v1/responses", "{\"model\":\"test-model\",\"input\":\"hi\"}", true);
            assertThat(responses.statusCode()).as(responses.body()).isEqualTo(503);
            assertThat(responses.body()).contains("--migration-limit");
            // Streaming: the tokens before the failure went out with a 200, so the stream ends with an error event.
            HttpResponse<String> streamed = s.post("/v1/completions", "{\"prompt\":\"x\",\"stream\":true}", true);
            assertThat(streamed.statusCode()).isEqualTo(200);
            assertThat(TestServer.events(streamed.body()).getLast()).contains("\"error\"").contains("service_unavailable");
            // A stream that fails before its first token has sent nothing yet (not even chat's role chunk): a 503.
            s.engine.failAfterTokens = 0;
            for (String[] api : new String[][] {{"/v1/completions", "{\"prompt\":\"x\",\"stream\":true}"},
                    {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}"}}) {
                HttpResponse<String> r = s.post(api[0], api[1], true);
                assertThat(error(r, 503).get("code").asText()).as(api[0]).isEqualTo("service_unavailable");
                assertThat(r.headers().firstValue("retry-after")).as(api[0]).isPresent();
            }
            s.engine.failAfterTokens = 2;

            // Found unservable after it was accepted (while held for a worker): 400, as at submit.
            s.engine.failKind = ai.armature.protocol.GenerateOutput.ErrorKind.INVALID;
            s.engine.failWith = "the prompt is too long for the worker that came";
            assertThat(error(s.post("/v1/completions", "{\"prompt\":\"x\"}", true), 400).get("message").asText())
                    .contains("too long for the worker");
        } finally {
            s.engine.failWith = null;
            s.engine.failKind = null;
            s.engine.failAfterTokens = 2;
        }
    }

    /** The value of an unlabelled sample in a Prometheus text scrape. */
    private static double sample(String scrape, String name) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1).trim());
        }
        throw new AssertionError("no sample " + name + " in /metrics");
    }

    @Test
    void everyRequestIsCountedOnceInTheLatencyAndTokenMetricsWhateverItsOutcome() throws Exception {
        try (TestServer m = new TestServer()) {
            assertThat(m.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3}", true).statusCode()).isEqualTo(200);
            m.engine.failWith = "simulated device failure";
            // Each way a request can fail: collected (500), streamed after its tokens (error event), streamed before
            // its first token (503), and through the Messages API's event path.
            error(m.post("/v1/completions", "{\"prompt\":\"x\"}", true), 500);
            HttpResponse<String> streamed = m.post("/v1/completions", "{\"prompt\":\"x\",\"stream\":true}", true);
            assertThat(TestServer.events(streamed.body()).getLast()).contains("simulated device failure");
            assertThat(m.post("/v1/messages", "{\"model\":\"test-model\",\"max_tokens\":8,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true).statusCode()).isEqualTo(500);
            m.engine.failAfterTokens = 0;
            m.engine.failKind = ai.armature.protocol.GenerateOutput.ErrorKind.UNAVAILABLE;
            error(m.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}", true), 503);
            assertThat(m.engine.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(m.server.awaitIdle(Duration.ofSeconds(5))).isTrue();

            String scrape = m.get("/metrics").body();
            assertThat(sample(scrape, "armature_request_duration_seconds_count")).isEqualTo(5);
            // 3 answered, then 2 from each of the three requests that failed after two tokens, 0 from the last.
            assertThat(sample(scrape, "armature_generation_tokens_total")).isEqualTo(3 + 2 + 2 + 2);
        }
    }

    @Test
    void drainingServerAnswers503AndFinishesInFlightWork() throws Exception {
        try (TestServer d = new TestServer()) {
            d.engine.gate = new Semaphore(0);
            CompletableFuture<HttpResponse<String>> inFlight = d.http.sendAsync(
                    d.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":4}").build(), HttpResponse.BodyHandlers.ofString());
            while (d.engine.submittedCount() == 0) Thread.onSpinWait();
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> d.server.drain(Duration.ofSeconds(10)));
            while (d.server.ready()) Thread.onSpinWait();
            JsonNode e = error(d.post("/v1/completions", "{\"prompt\":\"x\"}", true), 503);
            assertThat(e.get("type").asText()).isEqualTo("server_error");
            assertThat(d.get("/health").statusCode()).isEqualTo(503);
            d.engine.gate.release(100);
            assertThat(inFlight.get().statusCode()).isEqualTo(200);
            assertThat(TestServer.json(inFlight.get().body()).at("/choices/0/text").asText()).isEqualTo("The ");
            assertThat(drained.get()).isTrue();
        }
    }

    @Test
    void drainCancelsWhatOutlivesTheGracePeriod() throws Exception {
        try (TestServer d = new TestServer()) {
            d.engine.gate = new Semaphore(0);
            CompletableFuture<HttpResponse<String>> inFlight = d.http.sendAsync(
                    d.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":4}").build(), HttpResponse.BodyHandlers.ofString());
            while (d.engine.submittedCount() == 0) Thread.onSpinWait();
            assertThat(d.server.drain(Duration.ofMillis(50))).isFalse();
            error(inFlight.get(), 503);
            assertThat(d.engine.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(d.engine.cancelledCount()).isEqualTo(1);
            assertThat(d.server.inFlightSequences()).isZero();
        }
    }

    @Test
    void aRequestThatCanNeverFitIs400NotARetryable429() throws Exception {
        try (TestServer four = new TestServer(c -> c.withMaxInFlightRequests(4))) {
            // Idle server, limit 4 sequences: n=3 x 2 prompts = 6 can never be admitted.
            JsonNode e = error(four.post("/v1/completions", "{\"prompt\":[\"a\",\"b\"],\"n\":3,\"max_tokens\":1}", true), 400);
            assertThat(e.get("param").asText()).isEqualTo("n");
            assertThat(e.get("message").asText()).contains("6 sequences").contains("at most 4");
            assertThat(four.post("/v1/completions", "{\"prompt\":[\"a\",\"b\"],\"n\":2,\"max_tokens\":1}", true).statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void completionsWithoutMaxTokensStopAt16ChatGoesOn() throws Exception {
        JsonNode c = TestServer.json(s.post("/v1/completions", "{\"prompt\":\"x\"}", true).body());
        assertThat(c.at("/choices/0/text").asText()).isEqualTo(FakeEngine.DEFAULT_REPLY.substring(0, 16));
        assertThat(c.at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(c.at("/usage/completion_tokens").asInt()).isEqualTo(16);
        assertThat(s.engine.requests().getLast().stop().maxTokens()).isEqualTo(16);
        JsonNode chat = TestServer.json(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", true).body());
        assertThat(chat.at("/choices/0/message/content").asText()).isEqualTo(FakeEngine.DEFAULT_REPLY);
        assertThat(chat.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        // The details object the Java SDKs read; nothing is separated out as reasoning.
        assertThat(chat.at("/usage/completion_tokens_details/reasoning_tokens").isInt()).isTrue();
        assertThat(chat.at("/usage/completion_tokens_details/reasoning_tokens").asInt()).isZero();
    }

    @Test
    void strictJsonAndMessages() throws Exception {
        String[][] cases = {
                {"/v1/completions", "{\"prompt\":\"x\"} trailing", null, "trailing"},
                {"/v1/completions", "{\"prompt\":\"x\"}{}", null, "trailing"},
                {"/v1/completions", "{\"prompt\":\"x\",\"prompt\":\"y\"}", null, "Duplicate field 'prompt'"},
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role", "wizard"},
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":null}]}", "messages[0].content", "null"},
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\"}]}",
                        "messages[1].content", "required"}};
        for (String[] c : cases) {
            JsonNode e = error(s.post(c[0], c[1], true), 400);
            assertThat(e.get("param").isNull() ? null : e.get("param").asText()).as(c[1]).isEqualTo(c[2]);
            assertThat(e.get("message").asText()).as(c[1]).contains(c[3]);
        }
        // Still accepted: no model (one is served), trailing whitespace, an assistant turn with null content.
        assertThat(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                + "{\"role\":\"assistant\",\"content\":null},{\"role\":\"user\",\"content\":\"y\"}],\"max_tokens\":1} \n", true)
                .statusCode()).isEqualTo(200);
    }

    @Test
    void logitBiasReachesTheWorkerAndBadValuesAreRefused() throws Exception {
        for (String path : new String[] {"/v1/completions", "/v1/chat/completions"}) {
            String prompt = path.contains("chat") ? "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]" : "\"prompt\":\"x\"";
            assertThat(s.post(path, "{" + prompt + ",\"max_tokens\":1,\"logit_bias\":{\"50\":-100,\"7\":2.5}}", true).statusCode())
                    .isEqualTo(200);
            ai.armature.protocol.LogitBias bias = s.engine.requests().getLast().sampling().logitBias();
            assertThat(bias.tokenIds()).containsExactly(7, 50);
            assertThat(bias.biases()).containsExactly(2.5f, -100f);
        }
        assertThat(s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1,\"logit_bias\":{}}", true).statusCode()).isEqualTo(200);
        assertThat(s.engine.requests().getLast().sampling().logitBias().isEmpty()).isTrue();
        for (String bad : new String[] {"[1]", "{\"x\":1}", "{\"260\":1}", "{\"-1\":1}", "{\"5\":101}", "{\"5\":\"1\"}",
                "{\"5\":1,\"05\":2}"}) {
            JsonNode e = error(s.post("/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":" + bad + "}", true), 400);
            assertThat(e.get("param").asText()).as(bad).isEqualTo("logit_bias");
        }
    }
}
