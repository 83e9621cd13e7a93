package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static ai.armature.cli.LocalCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Armature distributed: {@code armature frontend} and two {@code armature worker}s (the mocker, 20 ms steps, the tiny
 * demo model's tokenizer) as separate JVMs on real etcd and NATS, driven by the OpenAI SDK. Failures are the point:
 * a worker killed (SIGKILL), drained (SIGTERM) or hung (SIGSTOP) mid-stream, etcd and NATS restarted, the frontend
 * restarted, a second frontend (migration off: a lost worker's stream ends with an error event). After each test every
 * surviving worker is idle again (no running request, no KV block in use).
 * Skipped without etcd and nats-server.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DistributedServingTest {

    private static final String MOCK = "h100-llama3-8b,weight_read_ms=20,step_overhead_ms=0,token_compute_us=0,attention_pair_ns=0,"
            + "kv_read_ns_per_token=0,kv_cache=64MiB";
    private static final String PROMPT = "the distributed request";

    @TempDir
    static Path dir;
    private static LocalCluster cluster;
    private static LocalCluster.Role frontend;
    private static final List<LocalCluster.Role> workers = new ArrayList<>();
    private static OpenAIClient client;
    private static Path model;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(LocalCluster.available(),
                "etcd and nats-server are not installed: apt-get install etcd-server nats-server (multi-process tests skipped)");
        model = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), model);
        cluster = new LocalCluster(dir, "dist");
        CompletableFuture<LocalCluster.Role> a = CompletableFuture.supplyAsync(DistributedServingTest::newWorker);
        CompletableFuture<LocalCluster.Role> b = CompletableFuture.supplyAsync(DistributedServingTest::newWorker);
        workers.add(a.join());
        workers.add(b.join());
        startFrontend();
    }

    private static LocalCluster.Role newWorker() {
        return newWorker("tiny", "3s");
    }

    private static LocalCluster.Role newWorker(String servedName, String leaseTtl) {
        try {
            return cluster.worker("--model", model.toString(), "--served-model-name", servedName, "--mock-profile", MOCK,
                    "--lease-ttl", leaseTtl, "--drain-timeout", "1s", "--load-interval", "200ms");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void startFrontend() throws Exception {
        frontend = cluster.frontend("--request-inactivity-timeout", "1500ms", "--migration-limit", "3");
        if (client != null) client.close();
        client = OpenAIOkHttpClient.builder().baseUrl(LocalCluster.api(frontend)).apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(120)).build();
        await("the frontend serves tiny with 2 workers", () -> modelsListing().contains("\"tiny\"") && routable(2));
    }

    /** Whether the frontend can route to {@code n} workers: a trivial request reaches each in turn is too slow; trust load. */
    private static boolean routable(int n) {
        return workers.stream().filter(w -> w.process().isAlive()).count() >= n;
    }

    private static String modelsListing() {
        try {
            return cluster.get(LocalCluster.api(frontend) + "/models");
        } catch (Exception e) {
            return "";
        }
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (cluster != null) cluster.close();
    }

    @AfterEach
    void survivorsAreIdleAndTwoWorkersServe() throws Exception {
        for (LocalCluster.Role w : List.copyOf(workers)) {
            if (!w.process().isAlive()) {
                workers.remove(w);
                continue;
            }
            await("worker " + w.id() + " idle", () -> cluster.idle(w));
        }
        while (workers.size() < 2) workers.add(newWorker());
    }

    private static CompletionCreateParams request(int maxTokens, boolean sampled) {
        return request("tiny", maxTokens, sampled);
    }

    private static CompletionCreateParams request(String modelName, int maxTokens, boolean sampled) {
        CompletionCreateParams.Builder b = CompletionCreateParams.builder().model(modelName).prompt(PROMPT).maxTokens(maxTokens);
        if (sampled) b.temperature(0.9).seed(42);
        else b.temperature(0.0);
        return b.streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    }

    /** A streamed completion: its text, chunks with text, and usage. */
    private record Streamed(String text, int chunks, long completionTokens, String finishReason) {
    }

    private static Streamed stream(CompletionCreateParams params, AtomicInteger progress) {
        StringBuilder text = new StringBuilder();
        int chunks = 0;
        long usage = -1;
        String finish = null;
        try (StreamResponse<Completion> s = client.completions().createStreaming(params)) {
            for (Completion c : (Iterable<Completion>) s.stream()::iterator) {
                if (c.usage().isPresent()) usage = c.usage().get().completionTokens();
                for (var ch : c.choices()) {
                    if (!ch.text().isEmpty()) {
                        text.append(ch.text());
                        chunks++;
                        if (progress != null) progress.incrementAndGet();
                    }
                    var reason = ch._finishReason().asKnown();
                    if (reason.isPresent()) finish = reason.get().toString();
                }
            }
        }
        return new Streamed(text.toString(), chunks, usage, finish);
    }

    /** The worker running a request now (by its metrics), waiting for one (hang guard only). */
    private static LocalCluster.Role busyWorker() throws InterruptedException {
        LocalCluster.Role[] found = new LocalCluster.Role[1];
        await("a worker runs the request", () -> {
            for (LocalCluster.Role w : workers) {
                if (w.process().isAlive() && cluster.metric(w, "armature_requests_running") >= 1) {
                    found[0] = w;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    /** Streams a request, does {@code failure} to its worker half-way, and checks the output equals an undisturbed run. */
    private void survives(boolean sampled, java.util.function.Consumer<LocalCluster.Role> failure) throws Exception {
        survives(80, sampled, failure);
    }

    private void survives(int tokens, boolean sampled, java.util.function.Consumer<LocalCluster.Role> failure) throws Exception {
        Streamed reference = stream(request(tokens, sampled), null);
        assertThat(reference.completionTokens()).isEqualTo(tokens);
        AtomicInteger progress = new AtomicInteger();
        CompletableFuture<Streamed> run = CompletableFuture.supplyAsync(() -> stream(request(tokens, sampled), progress));
        LocalCluster.Role victim = busyWorker();
        await("half the tokens streamed", () -> progress.get() >= tokens / 3);
        failure.accept(victim);
        Streamed disturbed = run.get(120, TimeUnit.SECONDS);
        assertThat(disturbed.text()).isEqualTo(reference.text());
        assertThat(disturbed.completionTokens()).isEqualTo(tokens);
        assertThat(disturbed.finishReason()).isEqualTo("length");
    }

    @Test
    @org.junit.jupiter.api.Order(1)
    void servesTheDiscoveredModelWithItsTokenizer() throws Exception {
        assertThat(modelsListing()).contains("\"id\":\"tiny\"").contains("\"max_model_len\"");
        Streamed s = stream(request(12, false), null);
        assertThat(s.completionTokens()).isEqualTo(12);
        assertThat(s.text()).isNotEmpty();
        assertThat(cluster.get(LocalCluster.api(frontend).replace("/v1", "/health"))).contains("ready");
        assertThat(cluster.get(LocalCluster.api(frontend) + "/models/other")).contains("model_not_found");
        // The frontend's /metrics has its routers', per model: this was the first request routed.
        assertThat(cluster.get(LocalCluster.api(frontend).replace("/v1", "/metrics")))
                .contains("armature_router_decisions_total{model=\"tiny\",policy=\"kv\"} 1.0")
                .contains("armature_router_workers{model=\"tiny\"} 2.0")
                .contains("armature_router_decision_seconds_count{model=\"tiny\"} 1");
    }

    @Test
    @org.junit.jupiter.api.Order(2)
    void aKilledWorkersStreamContinuesOnTheOtherWorkerTokenForToken() throws Exception {
        survives(false, w -> {
            w.process().destroyForcibly(); // SIGKILL
            workers.remove(w);
        });
    }

    @Test
    @org.junit.jupiter.api.Order(3)
    void aSeededSampledRequestStaysReproducibleAcrossAMigration() throws Exception {
        survives(true, w -> {
            w.process().destroyForcibly();
            workers.remove(w);
        });
    }

    @Test
    @org.junit.jupiter.api.Order(4)
    void aDrainingWorkerDeregistersHandsBackWhatOutlivesItsTimeoutAndExitsZero() throws Exception {
        survives(200, false, w -> {
            w.process().destroy(); // SIGTERM; --drain-timeout 1s is shorter than the rest of the stream (4 s)
            try {
                assertThat(w.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            assertThat(w.process().exitValue()).isZero();
            workers.remove(w);
        });
    }

    @Test
    @org.junit.jupiter.api.Order(5)
    void aDrainingWorkerFinishesShortRequestsItself() throws Exception {
        CompletableFuture<Streamed> run = CompletableFuture.supplyAsync(() -> stream(request(30, false), null));
        LocalCluster.Role w = busyWorker();
        w.process().destroy();
        Streamed s = run.get(60, TimeUnit.SECONDS);
        assertThat(s.completionTokens()).isEqualTo(30);
        assertThat(w.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(w.process().exitValue()).isZero();
        workers.remove(w);
    }

    @Test
    @org.junit.jupiter.api.Order(6)
    void aHungWorkerIsDetectedByTheInactivityTimeoutAndItsRequestMigrates() throws Exception {
        survives(false, w -> {
            try {
                LocalCluster.signal(w, "STOP");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // The stopped worker never comes back in this test: end it.
        for (LocalCluster.Role w : List.copyOf(workers)) {
            if (cluster.metric(w, "armature_requests_running") < 0) {
                LocalCluster.signal(w, "CONT");
                cluster.stop(w);
                workers.remove(w);
            }
        }
    }

    @Test
    @org.junit.jupiter.api.Order(7)
    void etcdAndNatsRestartsLeaveRunningRequestsAloneAndRoutingGoesOn() throws Exception {
        CompletableFuture<Streamed> run = CompletableFuture.supplyAsync(() -> stream(request(80, false), null));
        busyWorker();
        cluster.etcd.restart();
        cluster.nats.restart();
        Streamed s = run.get(120, TimeUnit.SECONDS);
        assertThat(s.completionTokens()).isEqualTo(80);
        // Requests keep flowing, and a worker that starts after the restarts is found.
        assertThat(stream(request(5, false), null).completionTokens()).isEqualTo(5);
        LocalCluster.Role late = newWorker();
        workers.add(late);
        await("the late worker takes requests", () -> {
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                // At once, and with prompts no worker has cached (a cached prefix would keep them where it is): load spreads.
                for (int i = 0; i < 6; i++) {
                    String prompt = "request " + i + " " + System.nanoTime() + " of " + PROMPT;
                    pool.submit(() -> stream(CompletionCreateParams.builder().model("tiny").prompt(prompt).maxTokens(20).temperature(0.0)
                            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build(), null));
                }
            }
            return cluster.metric(late, "armature_generation_tokens_total") > 0;
        });
        cluster.stop(late);
        workers.remove(late);
    }

    @Test
    @org.junit.jupiter.api.Order(8)
    void aRestartedFrontendRediscoversEveryWorker() throws Exception {
        cluster.stop(frontend);
        startFrontend();
        for (int i = 0; i < 6; i++) assertThat(stream(request(4, false), null).completionTokens()).isEqualTo(4);
    }

    @Test
    @org.junit.jupiter.api.Order(9)
    void everyRegisteredModelIsServedAndOneWhoseLastWorkerDiedIsUnavailable() throws Exception {
        // A lease far longer than the wait below: the model must leave the list because its worker is unreachable.
        LocalCluster.Role other = cluster.worker("--model", model.toString(), "--served-model-name", "other", "--mock-profile", MOCK,
                "--lease-ttl", "600s");
        await("both models listed", () -> modelsListing().contains("\"other\"") && modelsListing().contains("\"tiny\""));
        Completion c = client.completions().create(CompletionCreateParams.builder().model("other").prompt("x").maxTokens(3).build());
        assertThat(c.model()).isEqualTo("other");
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(3);
        other.process().destroyForcibly(); // SIGKILL: it stays registered until its lease expires
        assertThat(other.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        await("other no longer listed", () -> !modelsListing().contains("\"other\""));
        assertThat(modelsListing()).contains("\"tiny\"");
        var response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(LocalCluster.api(frontend) + "/completions")).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"other\",\"prompt\":\"x\",\"max_tokens\":2}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("no worker serves the model 'other'");
    }

    @Test
    @org.junit.jupiter.api.Order(10)
    void twoFrontendsShareTheWorkersAndWithoutMigrationALostWorkerEndsTheStreamWithAnErrorEvent() throws Exception {
        LocalCluster.Role second = cluster.frontend("--migration-limit", "0", "--request-inactivity-timeout", "1500ms");
        String api = LocalCluster.api(second);
        await("the second frontend serves tiny", () -> {
            try {
                return cluster.get(api + "/models").contains("\"tiny\"");
            } catch (Exception e) {
                return false;
            }
        });
        Streamed viaFirst = stream(request(12, false), null);
        var http = java.net.http.HttpClient.newHttpClient();
        String body = "{\"model\":\"tiny\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":12,\"temperature\":0,\"stream\":true}";
        var post = java.net.http.HttpRequest.newBuilder(java.net.URI.create(api + "/completions")).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build();
        String viaSecond = http.send(post, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertThat(textOf(viaSecond)).isEqualTo(viaFirst.text()); // the same workers, the same greedy tokens

        // --migration-limit 0: the worker's death ends the stream with an OpenAI error object after the tokens so far.
        String longBody = body.replace("\"max_tokens\":12", "\"max_tokens\":400");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
            try {
                http.send(java.net.http.HttpRequest.newBuilder(post.uri()).header("Content-Type", "application/json")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(longBody)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofLines()).body().forEach(lines::add);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        LocalCluster.Role victim = busyWorker();
        await("some tokens streamed", () -> lines.stream().filter(l -> l.contains("\"text\"")).count() >= 10);
        victim.process().destroyForcibly();
        workers.remove(victim);
        run.get(120, TimeUnit.SECONDS);
        String last = lines.stream().filter(l -> l.startsWith("data: {")).reduce((a, b) -> b).orElseThrow();
        assertThat(last).contains("\"error\"").contains("--migration-limit").contains("is 0");
        assertThat(lines.stream().filter(l -> l.contains("\"text\"")).count()).isBetween(10L, 399L);

        // Not streaming, nothing was sent yet: the exhausted migration is a clean 503 with Retry-After, not a 500.
        String plain = longBody.replace("\"stream\":true", "\"stream\":false");
        CompletableFuture<java.net.http.HttpResponse<String>> unstreamed = http.sendAsync(java.net.http.HttpRequest.newBuilder(post.uri())
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(plain)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        LocalCluster.Role running = busyWorker(); // it accepted and runs the request
        running.process().destroyForcibly();
        workers.remove(running);
        var refused = unstreamed.get(120, TimeUnit.SECONDS);
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
        assertThat(refused.headers().firstValue("retry-after")).isPresent();
        assertThat(refused.body()).contains("service_unavailable").contains("--migration-limit").doesNotContain("generation failed");
        cluster.stop(second);
    }

    @Test
    @org.junit.jupiter.api.Order(11)
    void aWorkerThatWasStoppedIsUsedAgainOnceItRunsWithoutWaitingForItsLease() throws Exception {
        // Leases far longer than the test: only the frontend's probe can bring the stopped worker back.
        CompletableFuture<LocalCluster.Role> a = CompletableFuture.supplyAsync(() -> newWorker("paused", "600s"));
        CompletableFuture<LocalCluster.Role> b = CompletableFuture.supplyAsync(() -> newWorker("paused", "600s"));
        List<LocalCluster.Role> pair = List.of(a.join(), b.join());
        await("paused listed", () -> modelsListing().contains("\"paused\""));
        AtomicInteger progress = new AtomicInteger();
        CompletableFuture<Streamed> run = CompletableFuture.supplyAsync(() -> stream(request("paused", 80, false), progress));
        LocalCluster.Role[] found = new LocalCluster.Role[1];
        await("a worker of paused runs the request", () -> {
            for (LocalCluster.Role w : pair) {
                if (cluster.metric(w, "armature_requests_running") >= 1) {
                    found[0] = w;
                    return true;
                }
            }
            return false;
        });
        LocalCluster.Role victim = found[0];
        await("some tokens streamed", () -> progress.get() >= 20);
        LocalCluster.signal(victim, "STOP"); // the request migrates after the inactivity timeout; the worker is suspect
        assertThat(run.get(120, TimeUnit.SECONDS).completionTokens()).isEqualTo(80);
        assertThat(java.nio.file.Files.readString(frontend.log())).contains("worker " + victim.id() + " sent nothing");
        LocalCluster.signal(victim, "CONT");
        double before = cluster.metric(victim, "armature_generation_tokens_total");
        await("the resumed worker takes requests again", () -> {
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 6; i++) pool.submit(() -> stream(request("paused", 20, false), null)); // at once: load spreads
            }
            return cluster.metric(victim, "armature_generation_tokens_total") > before;
        });
        assertThat(java.nio.file.Files.readString(frontend.log())).contains("worker " + victim.id() + " answers again");
        for (LocalCluster.Role w : pair) {
            await("worker " + w.id() + " idle", () -> cluster.idle(w));
            cluster.stop(w);
        }
    }

    /** The text of a non-SDK SSE completion body. */
    private static String textOf(String sse) throws Exception {
        StringBuilder text = new StringBuilder();
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : sse.split("\n")) {
            if (!line.startsWith("data: {")) continue;
            var choices = mapper.readTree(line.substring(6)).path("choices");
            for (var c : choices) text.append(c.path("text").asText());
        }
        return text.toString();
    }
}
