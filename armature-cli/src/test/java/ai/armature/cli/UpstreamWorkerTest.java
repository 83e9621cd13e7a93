package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.runtime.local.LocalEtcd;
import ai.armature.runtime.local.LocalNats;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code armature worker --upstream} in a distributed deployment with real processes and servers: an
 * {@code armature serve} process plays the external engine, an upstream worker registers it in etcd and serves it over
 * gRPC, and {@code armature frontend} discovers it. Answers through the frontend equal the engine's own; when the
 * engine is killed the worker deregisters (the frontend has no worker for the model), and when it is back the
 * worker registers again. Skipped without etcd and nats-server (Debian packages etcd-server, nats-server).
 */
class UpstreamWorkerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path dir;
    private static LocalEtcd etcd;
    private static LocalNats nats;
    private static ArmatureProcess upstream, worker, frontend;
    private static Path model;

    @BeforeAll
    static void start() throws Exception {
        var etcdBin = LocalEtcd.find();
        var natsBin = LocalNats.find();
        Assumptions.assumeTrue(etcdBin.isPresent() && natsBin.isPresent(),
                "etcd and nats-server are not installed (apt-get install etcd-server nats-server): skipping");
        etcd = new LocalEtcd(etcdBin.get(), Files.createDirectories(dir.resolve("etcd")));
        etcd.start();
        nats = new LocalNats(natsBin.get(), Files.createDirectories(dir.resolve("nats")), null);
        nats.start();
        model = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), model);
        upstream = upstream("engine", 0);
        worker = ArmatureProcess.start(dir, "worker", "worker", "--upstream", upstream.url(), "--upstream-kind", "vllm",
                "--served-model-name", "tiny", "--tokenizer", model.toString(), "--discovery", etcd.url(), "--events", nats.url(),
                "--lease-ttl", "3s");
        frontend = ArmatureProcess.start(dir, "frontend", "frontend", "--host", "127.0.0.1", "--port", "0", "--discovery", etcd.url(),
                "--events", nats.url());
    }

    private static ArmatureProcess upstream(String name, int port) throws Exception {
        return ArmatureProcess.start(dir, name, "serve", "--model", model.toString(), "--served-model-name", "tiny", "--host", "127.0.0.1",
                "--port", Integer.toString(port), "--kv-cache-memory", "8MiB", "--max-seqs", "8");
    }

    @AfterAll
    static void stop() throws Exception {
        for (ArmatureProcess p : new ArmatureProcess[] {frontend, worker, upstream}) if (p != null) p.close();
        if (nats != null) nats.close();
        if (etcd != null) etcd.close();
    }

    @Test
    void servesThroughTheFrontendDeregistersWhileTheEngineIsDownAndComesBack() throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":\"through the runtime\",\"max_tokens\":16,\"temperature\":0,\"return_token_ids\":true}";
        await(() -> status(frontend, body) == 200);
        JsonNode direct = JSON.readTree(post(upstream, body).body());
        JsonNode through = JSON.readTree(post(frontend, body).body());
        assertThat(through.at("/choices/0/token_ids")).isEqualTo(direct.at("/choices/0/token_ids"));
        assertThat(through.at("/choices/0/text").asText()).isEqualTo(direct.at("/choices/0/text").asText());
        assertThat(worker.metric("armature_upstream_healthy")).isEqualTo(1);

        int port = upstream.port();
        upstream.kill();
        await(() -> metric(worker, "armature_upstream_healthy") == 0);
        await(() -> status(frontend, body) == 503 || status(frontend, body) == 404);
        upstream = upstream("engine-again", port);
        await(() -> status(frontend, body) == 200);
        assertThat(JSON.readTree(post(frontend, body).body()).at("/choices/0/token_ids")).isEqualTo(direct.at("/choices/0/token_ids"));
    }

    private static HttpResponse<String> post(ArmatureProcess p, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(p.url() + "/v1/completions")).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int status(ArmatureProcess p, String body) {
        try {
            return post(p, body).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static double metric(ArmatureProcess p, String name) {
        try {
            return p.metric(name);
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    /** Waits for a condition the processes reach on their own (bounded, so a broken one fails instead of hanging). */
    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached");
            LockSupport.parkNanos(100_000_000);
        }
    }
}
