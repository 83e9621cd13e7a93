package ai.armature.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.armature.runtime.local.LocalEtcd;
import ai.armature.runtime.local.LocalNats;

/**
 * {@code armature planner --connector local} with real etcd, NATS, frontend and worker processes (the simulated
 * runner, slowed down so a request lasts seconds): with {@code --min-workers 0} it starts one worker so the
 * frontend learns the model, drains it when traffic stops while a long request still runs (the request finishes),
 * goes to zero, and a request arriving at zero waits at the frontend until the worker the planner starts serves it.
 */
class PlannerEndToEndTest {

    @TempDir
    static Path dir;
    static LocalEtcd etcd;
    static LocalNats nats;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void servers() throws Exception {
        var e = LocalEtcd.find();
        var n = LocalNats.find();
        Assumptions.assumeTrue(e.isPresent() && n.isPresent(),
                "etcd or nats-server is not installed: apt-get install etcd-server nats-server (the planner's end-to-end test is skipped)");
        etcd = new LocalEtcd(e.get(), dir.resolve("etcd"));
        etcd.start();
        nats = new LocalNats(n.get(), dir.resolve("nats"), "tok");
        nats.start();
    }

    @AfterAll
    static void stop() {
        if (nats != null) nats.close();
        if (etcd != null) etcd.close();
    }

    static JsonNode complete(String url, int maxTokens) throws Exception {
        String body = "{\"model\": \"demo\", \"prompt\": \"the planner\", \"max_tokens\": " + maxTokens + ", \"ignore_eos\": true}";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions")).header("content-type", "application/json")
                .timeout(Duration.ofMinutes(3)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    @Test
    void scalesToZeroByDrainingAndBackUpForARequestThatWaits() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        assertThat(CliRun.of("demo-model", "--preset", "tiny", "--out", model.toString()).exit()).isZero();
        String[] cluster = {"--discovery", etcd.url(), "--events", nats.url()};
        Path timeline = dir.resolve("timeline.jsonl");
        try (ArmatureProcess frontend = ArmatureProcess.start(dir, "frontend", Pattern.compile("ready frontend=http://[^:]+:(\\d+)/v1"),
                concat(new String[] {"frontend", "--port", "0", "--host", "127.0.0.1", "--hold-timeout", "180s"}, cluster));
             ArmatureProcess planner = ArmatureProcess.start(dir, "planner", Pattern.compile("ready planner"), concat(concat(
                     new String[] {"planner", "--served-model-name", "demo", "--connector", "local", "--min-workers", "0", "--max-workers", "2",
                             "--interval", "1s", "--worker-startup-seconds", "5", "--scale-down-delay", "3s", "--warmup-seconds", "1",
                             "--ttft-slo", "5", "--itl-slo", "0.2", "--worker-log-dir", dir.resolve("workers").toString(),
                             "--timeline", timeline.toString()}, cluster),
                     new String[] {"--", "--model", model.toString(), "--served-model-name", "demo", "--drain-timeout", "120s",
                             "--mock-profile", "h100-llama3-8b,weight_read_ms=40"}))) {
            // The planner starts one worker at first; the frontend then serves the model.
            await(() -> get(frontend.url() + "/v1/models").contains("\"demo\""), planner);

            // A long request (400 tokens at about 40 ms each); no other traffic: the planner drains the worker meanwhile.
            CompletableFuture<JsonNode> longOne = CompletableFuture.supplyAsync(() -> call(frontend.url(), 400));
            await(() -> Files.exists(timeline) && Files.readString(timeline).contains("\"reason\":\"scale_down\""), planner);
            assertThat(longOne).as("still running while its worker drains").isNotDone();
            JsonNode done = longOne.get();
            assertThat(done.path("usage").path("completion_tokens").asInt()).as("the draining worker finished it").isEqualTo(400);
            await(() -> lastLine(timeline).contains("\"serving\":0,\"starting\":0,\"draining\":0"), planner);

            // At zero: a request waits at the frontend, the planner starts a worker, the request is served.
            JsonNode waited = complete(frontend.url(), 5);
            assertThat(waited.path("usage").path("completion_tokens").asInt()).isEqualTo(5);
            assertThat(planner.log()).contains("a request waits and no worker serves: starting 1");
            assertThat(planner.log()).as("the drained worker exited cleanly").contains("exited with status 0");
        }
    }

    static JsonNode call(String url, int tokens) {
        try {
            return complete(url, tokens);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String get(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    static String lastLine(Path file) throws Exception {
        if (!Files.exists(file)) return "";
        var lines = Files.readAllLines(file);
        return lines.isEmpty() ? "" : lines.getLast();
    }

    interface Check {
        boolean ok() throws Exception;
    }

    /** Waits for a condition (a guard against a hang, not a timing assertion), showing the planner's log if it never holds. */
    static void await(Check c, ArmatureProcess planner) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (!c.ok()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached; planner log:\n" + planner.log());
            Thread.sleep(100);
        }
    }

    static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
