package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code armature serve --upstream} end to end with real processes: two {@code armature serve} processes on the
 * tiny demo model play the external engines (they speak OpenAI and return token ids as vLLM does), and a third
 * process fronts them. Streams through the front equal the upstreams' own greedy output; a cancel closes the upstream
 * request and its KV returns to idle; a killed upstream is skipped and rejoins when it is back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UpstreamServeTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path dir;
    private static Path model;
    private static final List<ArmatureProcess> upstreams = new ArrayList<>();
    private static ArmatureProcess front;

    @BeforeAll
    static void start() throws Exception {
        model = dir.resolve("tiny.gguf");
        // F32 weights: on quantized ones a token is scored on int8-quantized activations or in float depending on how
        // the scheduler batched its pass, which differs between the front's path (prompt plus migrated tokens) and an
        // upstream's own; F32's paths agree to float rounding, which leaves this test to check the serving path.
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(ai.armature.engine.tensor.GgmlType.F32), model);
        upstreams.add(upstream("a", 0));
        upstreams.add(upstream("b", 0));
        front = ArmatureProcess.start(dir, "front", "serve", "--host", "127.0.0.1", "--port", "0", "--tokenizer", model.toString(),
                "--served-model-name", "tiny", "--upstream", upstreams.get(0).url(), "--upstream", upstreams.get(1).url());
        await(() -> metric(front, "armature_router_workers") == 2);
    }

    private static ArmatureProcess upstream(String name, int port) throws Exception {
        return ArmatureProcess.start(dir, name, "serve", "--model", model.toString(), "--served-model-name", "tiny", "--host", "127.0.0.1",
                "--port", Integer.toString(port), "--kv-cache-memory", "8MiB", "--max-seqs", "8");
    }

    @AfterAll
    static void stop() throws Exception {
        if (front != null) front.close();
        for (ArmatureProcess p : upstreams) p.close();
    }

    @Test
    @Order(1)
    void greedyStreamsThroughArmatureEqualTheUpstreamsOwn() throws Exception {
        for (String prompt : List.of("the cache of the model", "tokens cross the seam", "a b c d e f g")) {
            String body = "{\"model\":\"tiny\",\"prompt\":" + JSON.writeValueAsString(prompt)
                    + ",\"max_tokens\":24,\"temperature\":0,\"return_token_ids\":true,\"stream\":true}";
            Streamed direct = stream(upstreams.get(0), body);
            Streamed other = stream(upstreams.get(1), body);
            Streamed through = stream(front, body);
            assertThat(direct.ids).hasSizeGreaterThan(0);
            assertThat(other.ids).isEqualTo(direct.ids);
            assertThat(through.ids).isEqualTo(direct.ids);
            assertThat(through.text).isEqualTo(direct.text);
            assertThat(through.promptIds).isEqualTo(direct.promptIds);
            assertThat(through.finish).isEqualTo(direct.finish);
        }
        String chat = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}],\"max_tokens\":16,\"temperature\":0}";
        JsonNode direct = post(upstreams.get(0), "/v1/chat/completions", chat);
        JsonNode through = post(front, "/v1/chat/completions", chat);
        assertThat(through.at("/choices/0/message/content").asText()).isEqualTo(direct.at("/choices/0/message/content").asText());
        assertThat(through.at("/usage/completion_tokens").asInt()).isEqualTo(direct.at("/usage/completion_tokens").asInt());
    }

    @Test
    @Order(2)
    void aSeededSampledRequestPassesItsSeedThrough() throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":\"sampled text\",\"max_tokens\":16,\"temperature\":0.9,\"top_p\":0.95,\"seed\":1234}";
        String direct = post(upstreams.get(1), "/v1/completions", body).at("/choices/0/text").asText();
        assertThat(post(front, "/v1/completions", body).at("/choices/0/text").asText()).isEqualTo(direct);
    }

    @Test
    @Order(3)
    void cancellingClosesTheUpstreamRequestAndItsKvReturnsToIdle() throws Exception {
        double closedBefore = closedByClient(upstreams.get(0)) + closedByClient(upstreams.get(1));
        String body = "{\"model\":\"tiny\",\"prompt\":\"a long one\",\"max_tokens\":1000,\"ignore_eos\":true,\"temperature\":0,\"stream\":true}";
        // Its own client, so the connection is a fresh one that goes away with it (as a client process would).
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(front.url() + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        int chunks = 0;
        for (String line; chunks < 3 && (line = reader.readLine()) != null; ) if (line.startsWith("data: {")) chunks++;
        assertThat(chunks).isEqualTo(3);
        assertThat(metric(upstreams.get(0), "armature_requests_running") + metric(upstreams.get(1), "armature_requests_running")).isEqualTo(1);
        client.shutdownNow(); // the client goes away: the front cancels, which closes its upstream request
        await(() -> closedByClient(upstreams.get(0)) + closedByClient(upstreams.get(1)) == closedBefore + 1, UpstreamServeTest::diagnostics);
        for (ArmatureProcess u : upstreams) {
            await(() -> metric(u, "armature_requests_running") == 0 && metric(u, "armature_kv_blocks_used") == 0);
        }
    }

    @Test
    @Order(9)
    void anUpstreamKilledMidStreamHasItsRequestContinuedOnTheOther() throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":\"migrate me\",\"max_tokens\":400,\"ignore_eos\":true,\"temperature\":0,"
                + "\"return_token_ids\":true,\"stream\":true}";
        Streamed direct = stream(upstreams.get(0), body);
        List<Integer> uninterrupted = direct.ids;
        assertThat(uninterrupted).hasSizeGreaterThan(20);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(front.url() + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        List<Integer> ids = new ArrayList<>();
        String finish = null;
        int victim = -1;
        for (String line; (line = reader.readLine()) != null; ) {
            if (!line.startsWith("data: {")) continue;
            JsonNode c = JSON.readTree(line.substring(6)).path("choices").path(0);
            c.path("token_ids").forEach(t -> ids.add(t.asInt()));
            if (c.path("finish_reason").isTextual()) finish = c.get("finish_reason").asText();
            if (victim < 0 && ids.size() >= 5) {
                victim = metric(upstreams.get(0), "armature_requests_running") == 1 ? 0 : 1;
                assertThat(metric(upstreams.get(victim), "armature_requests_running")).isEqualTo(1);
                upstreams.get(victim).kill();
            }
        }
        client.close();
        assertThat(victim).isNotNegative();
        assertThat(finish).isEqualTo(direct.finish);
        assertThat(ids).isEqualTo(uninterrupted); // greedy: resumed with prompt + tokens so far, it goes on as it would have
        int port = upstreams.get(victim).port();
        upstreams.set(victim, upstream("restarted-" + victim, port));
        await(() -> metric(front, "armature_router_workers") == 2);
    }

    @Test
    @Order(10)
    void aKilledUpstreamIsSkippedAndRejoinsWhenItIsBack() throws Exception {
        ArmatureProcess b = upstreams.get(1);
        int port = b.port();
        b.kill();
        await(() -> metric(front, "armature_router_workers") == 1);
        double before = served(upstreams.get(0));
        for (int i = 0; i < 4; i++) {
            JsonNode r = post(front, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"skip " + i + "\",\"max_tokens\":4,\"temperature\":0}");
            assertThat(r.at("/choices/0/finish_reason").asText()).isNotEmpty();
        }
        assertThat(served(upstreams.get(0))).isEqualTo(before + 4);
        ArmatureProcess again = upstream("b2", port);
        upstreams.set(1, again);
        await(() -> metric(front, "armature_router_workers") == 2);
        // An idle worker with nothing cached is the cheapest for a new prompt: it gets requests again.
        for (int i = 0; i < 10 && served(again) == 0; i++) {
            post(front, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"back " + i + "\",\"max_tokens\":4,\"temperature\":0}");
        }
        assertThat(served(again)).isPositive();
    }

    // ---- helpers ----

    private record Streamed(List<Integer> ids, List<Integer> promptIds, String text, String finish) {
    }

    private static Streamed stream(ArmatureProcess p, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(p.url() + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<Integer> ids = new ArrayList<>();
        List<Integer> promptIds = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("data: {")) continue;
            JsonNode c = JSON.readTree(line.substring(6)).path("choices").path(0);
            c.path("token_ids").forEach(t -> ids.add(t.asInt()));
            c.path("prompt_token_ids").forEach(t -> promptIds.add(t.asInt()));
            text.append(c.path("text").asText(""));
            if (c.path("finish_reason").isTextual()) finish = c.get("finish_reason").asText();
        }
        return new Streamed(ids, promptIds, text.toString(), finish);
    }

    private static JsonNode post(ArmatureProcess p, String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(p.url() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** Completions the process answered with 200. */
    private static double served(ArmatureProcess p) throws IOException, InterruptedException {
        return labelled(p, "armature_requests_total", "/v1/completions", "200");
    }

    /** Completions whose client went away mid-response (status 499). */
    private static double closedByClient(ArmatureProcess p) {
        try {
            return labelled(p, "armature_requests_total", "/v1/completions", "499");
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double labelled(ArmatureProcess p, String name, String endpoint, String status) throws IOException, InterruptedException {
        double sum = 0;
        for (String line : p.get("/metrics").split("\n")) {
            if (line.startsWith(name + "{") && line.contains("\"" + endpoint + "\"") && line.contains("\"" + status + "\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private static String diagnostics() {
        StringBuilder b = new StringBuilder();
        try {
            for (ArmatureProcess u : upstreams) b.append(u.url()).append(":\n").append(u.get("/metrics").lines()
                    .filter(l -> l.startsWith("armature_requests")).collect(java.util.stream.Collectors.joining("\n"))).append('\n');
            b.append("front log:\n").append(front.log());
        } catch (IOException | InterruptedException e) {
            b.append(e);
        }
        return b.toString();
    }

    private static double metric(ArmatureProcess p, String name) {
        try {
            return p.metric(name);
        } catch (IOException | InterruptedException e) {
            return Double.NaN;
        }
    }

    /** Waits for a condition the processes reach on their own (bounded, so a broken one fails instead of hanging). */
    private static void await(BooleanSupplier condition) {
        await(condition, () -> "");
    }

    private static void await(BooleanSupplier condition, java.util.function.Supplier<String> diagnostics) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached\n" + diagnostics.get());
            LockSupport.parkNanos(20_000_000);
        }
    }
}
