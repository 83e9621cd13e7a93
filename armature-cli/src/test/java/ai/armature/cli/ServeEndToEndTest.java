package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerationEngine;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code armature serve}'s wiring end to end: the real engine (tiny generated model, scheduler, paged KV cache)
 * behind the HTTP frontend, driven by the official OpenAI Java SDK and raw HTTP.
 */
class ServeEndToEndTest {

    @TempDir
    static Path dir;
    private static LoadedModel model;
    private static GenerationEngine engine;
    private static OpenAiServer server;
    private static OpenAIClient client;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        Path file = dir.resolve("tiny.gguf");
        // F32 weights: with quantized ones (Q8_0, Q4_0, K-quants) a product with up to the kernels' fused width of
        // vectors (decode steps, short prefill chunks) runs on int8-quantized activations and a wider one in float, so
        // a token's logits depend on how its passes were batched, which scoring a prompt against the tokens it was generated with does not fix. F32's paths agree to float
        // rounding, which leaves this test to check the serving path itself.
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(ai.armature.engine.tensor.GgmlType.F32), file);
        model = LoadedModel.open(file);
        WorkerOptions options = new WorkerOptions();
        options.maxBatchedTokens = 64;
        options.maxSeqs = 32;
        options.kvCacheMemory = "8MiB";
        options.kvType = "f16";
        options.blockSize = 16;
        engine = Workers.start(WorkerSpec.engine(model, "tiny", options.config(2, 256)), 2, ai.armature.router.RouterConfig.defaults());
        server = new OpenAiServer(FrontendConfig.defaults("tiny").withHost("127.0.0.1").withPort(0), engine,
                model.tokenizer(), model.chatTemplate());
        ai.armature.router.RouterMetrics.of("tiny", (ai.armature.router.Router) engine).register(server.metricsRegistry());
        port = server.start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/v1").apiKey("unused")
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
        engine.close();
        model.close();
    }

    @AfterEach
    void everythingIsFreed() throws InterruptedException {
        assertThat(server.awaitIdle(Duration.ofSeconds(10))).isTrue();
        // The frontend is idle once it has cancelled; the engine frees the blocks at its next step. Wait for that
        // condition (bounded), not for a fixed time.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        EngineStats stats = engine.stats();
        while ((stats.runningRequests() + stats.waitingRequests() > 0 || stats.kvBlocksUsed() > 0) && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            stats = engine.stats();
        }
        assertThat(stats.runningRequests() + stats.waitingRequests()).isZero();
        assertThat(stats.kvBlocksUsed()).isZero();
    }

    @Test
    void aPortInUseIsAClearError() {
        OpenAiServer second = new OpenAiServer(FrontendConfig.defaults("tiny").withHost("127.0.0.1").withPort(port), engine,
                model.tokenizer(), model.chatTemplate());
        org.assertj.core.api.Assertions.assertThatThrownBy(second::start).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot listen on 127.0.0.1:" + port).hasMessageContaining("in use");
        second.close();
    }

    @Test
    void greedyStreamingEqualsNonStreaming() {
        CompletionCreateParams params = CompletionCreateParams.builder().model("tiny").prompt("the model token cache")
                .maxTokens(12).temperature(0.0).build();
        Completion whole = client.completions().create(params);
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertThat(streamed.toString()).isEqualTo(whole.choices().getFirst().text());
        assertThat(whole.usage().orElseThrow().completionTokens()).isBetween(1L, 12L);
    }

    @Test
    void chatWithTheModelsTemplateAndPrefixCacheHits() {
        String longSystem = "you are a worker in a batch of many tokens. ".repeat(12);
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("tiny")
                .addSystemMessage(longSystem).addUserMessage("hello there").maxCompletionTokens(4).temperature(0.0).build();
        ChatCompletion first = client.chat().completions().create(params);
        ChatCompletion second = client.chat().completions().create(params);
        assertThat(first.choices().getFirst().message().content()).isEqualTo(second.choices().getFirst().message().content());
        long prompt = second.usage().orElseThrow().promptTokens();
        long cached = second.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElse(0L);
        // The kv router sends the repeat to the worker that cached the first (its KV events reached the router).
        assertThat(cached).isGreaterThanOrEqualTo(prompt / 16 * 16 - 16).isPositive();
    }

    @Test
    void metricsIncludeTheRoutersDecisionsAndIndex() throws Exception {
        client.completions().create(CompletionCreateParams.builder().model("tiny").prompt("count the routed tokens")
                .maxTokens(2).temperature(0.0).build());
        HttpResponse<String> resp = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(resp.statusCode()).isEqualTo(200);
        assertThat(resp.body()).contains("armature_router_decisions_total{model=\"tiny\",policy=\"kv\"}")
                .contains("armature_router_decision_seconds_bucket").contains("armature_router_indexer_blocks")
                .contains("armature_router_kv_events_applied_total").contains("armature_router_reported_prefix_hit_rate")
                .contains("armature_router_kv_event_gaps_total{model=\"tiny\"} 0.0");
    }

    @Test
    void clientThatDisconnectsMidStreamFreesItsBlocks() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"prompt\":\"go on and on\",\"max_tokens\":900,"
                        + "\"stream\":true,\"ignore_eos\":true}"))
                .build();
        HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        InputStream body = resp.body();
        byte[] buf = new byte[256];
        assertThat(body.read(buf)).isPositive(); // the stream has started: the request holds KV blocks
        body.close();
        http.close();
        // @AfterEach checks that the engine went back to idle with no KV block in use.
    }

    @Test
    void manyConcurrentStreamsAllCompleteWithMatchingUsage() throws Exception {
        int clients = 64;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<long[]>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int n = i;
                results.add(pool.submit(() -> {
                    long chunks = 0, usage = -1;
                    try (StreamResponse<Completion> stream = client.completions().createStreaming(CompletionCreateParams.builder()
                            .model("tiny").prompt("request number " + n).maxTokens(16).seed(n)
                            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
                        for (Completion c : (Iterable<Completion>) stream.stream()::iterator) {
                            if (c.usage().isPresent()) usage = c.usage().get().completionTokens();
                            if (!c.choices().isEmpty() && !c.choices().getFirst().text().isEmpty()) chunks++;
                        }
                    }
                    return new long[]{chunks, usage};
                }));
            }
            long chunks = 0;
            for (Future<long[]> f : results) {
                long[] r = f.get();
                // Usage counts what was sent: a request whose first token is an end token has 0 completion tokens.
                assertThat(r[1]).isBetween(0L, 16L);
                // At most one content chunk per generated token: a token that ends inside a UTF-8 character, or a
                // stop token, sends no text of its own (a sampled request may even stop at its first token).
                assertThat(r[0]).isBetween(0L, r[1]);
                chunks += r[0];
            }
            assertThat(chunks).isGreaterThanOrEqualTo(clients);
        }
    }

    @Test
    void logitBiasSteersTheRealEngine() throws Exception {
        // Greedy: some first token t. With t biased -100 it never appears; with the token u chosen then biased +100,
        // every token is u (the logits of this random-weight model are far less than 100 apart).
        int[] plain = completionIds(null);
        int t = plain[0];
        int[] banned = completionIds("{\"" + t + "\":-100}");
        assertThat(banned).doesNotContain(t);
        int u = banned[0];
        assertThat(completionIds("{\"" + u + "\":100}")).containsExactly(u, u, u, u);
    }

    @Test
    void echoedLogprobsOfAContinuationEqualThoseItWasGeneratedWith() throws Exception {
        // lm-evaluation-harness's log-likelihood request: prompt = context + continuation, echo, max_tokens 0. The
        // logprobs it returns for the continuation's tokens must be the ones the model gave while generating them.
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode gen = json.readTree(post("{\"model\":\"tiny\",\"prompt\":\"the model token cache\","
                + "\"max_tokens\":5,\"temperature\":0,\"ignore_eos\":true,\"logprobs\":0,\"return_token_ids\":true}")).at("/choices/0");
        List<Integer> ids = new ArrayList<>();
        gen.get("prompt_token_ids").forEach(n -> ids.add(n.asInt()));
        int context = ids.size();
        gen.get("token_ids").forEach(n -> ids.add(n.asInt()));
        com.fasterxml.jackson.databind.JsonNode echo = json.readTree(post("{\"model\":\"tiny\",\"prompt\":" + ids
                + ",\"max_tokens\":0,\"echo\":true,\"logprobs\":0}"));
        com.fasterxml.jackson.databind.JsonNode lp = echo.at("/choices/0/logprobs/token_logprobs");
        assertThat(lp).hasSize(ids.size());
        assertThat(lp.get(0).isNull()).isTrue();
        assertThat(echo.at("/usage/completion_tokens").asInt()).isZero();
        for (int i = 0; i < 5; i++) {
            assertThat(lp.get(context + i).doubleValue()).as("continuation token " + i)
                    .isCloseTo(gen.at("/logprobs/token_logprobs/" + i).doubleValue(), org.assertj.core.data.Offset.offset(2e-3));
        }
        // The echoed text is the whole text: the context's and the continuation's.
        assertThat(echo.at("/choices/0/text").asText()).isEqualTo("the model token cache" + gen.get("text").asText());
    }

    private static String post(String body) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return r.body();
        }
    }

    private static int[] completionIds(String logitBias) throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":\"the model token cache\",\"max_tokens\":4,\"temperature\":0,"
                + "\"ignore_eos\":true,\"return_token_ids\":true" + (logitBias == null ? "" : ",\"logit_bias\":" + logitBias) + "}";
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            com.fasterxml.jackson.databind.JsonNode ids = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body())
                    .at("/choices/0/token_ids");
            int[] out = new int[ids.size()];
            for (int i = 0; i < out.length; i++) out[i] = ids.get(i).asInt();
            assertThat(out).hasSize(4);
            return out;
        }
    }
}
