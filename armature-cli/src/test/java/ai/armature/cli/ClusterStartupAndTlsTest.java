package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.runtime.TestCertificates;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static ai.armature.cli.LocalCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * How {@code armature worker} and {@code armature frontend} start as real processes when the planes are not all there
 * yet, and mutual TLS between them: a worker started before etcd waits and prints {@code ready} only once its card is
 * in etcd; either role started while NATS is down exits at once saying so; a worker with {@code --tls-*} serves a
 * frontend whose certificate its CA signed, and a frontend with no certificate, or one from another CA, is refused
 * (it says why in one line) and never serves the model through that worker. Skipped without etcd and nats-server.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterStartupAndTlsTest {

    private static final String MOCK = "h100-llama3-8b,weight_read_ms=5,step_overhead_ms=0,token_compute_us=0,attention_pair_ns=0,"
            + "kv_read_ns_per_token=0,kv_cache=64MiB";

    @TempDir
    static Path dir;
    private static LocalCluster cluster;
    private static Path model;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void setUp() throws Exception {
        Assumptions.assumeTrue(LocalCluster.available(),
                "etcd and nats-server are not installed: apt-get install etcd-server nats-server (multi-process tests skipped)");
        model = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), model);
        cluster = new LocalCluster(dir, "startup", false); // etcd and NATS are started by the tests
    }

    @AfterAll
    static void tearDown() {
        if (cluster != null) cluster.close();
    }

    private String[] worker(String name, String... more) {
        String[] base = {"--model", model.toString(), "--served-model-name", name, "--mock-profile", MOCK, "--lease-ttl", "3s"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    private HttpResponse<String> complete(LocalCluster.Role frontend, String modelName) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(LocalCluster.api(frontend) + "/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + modelName + "\",\"prompt\":\"hi\",\"max_tokens\":3}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String models(LocalCluster.Role frontend) {
        try {
            return cluster.get(LocalCluster.api(frontend) + "/models");
        } catch (Exception e) {
            return "";
        }
    }

    private static boolean logContains(LocalCluster.Launched l, String text) {
        try {
            return l.logText().contains(text);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    @Order(1)
    void aWorkerStartedBeforeEtcdWaitsAndIsReadyOnlyOnceRegistered() throws Exception {
        cluster.nats.start();
        LocalCluster.Launched launched = cluster.launchWorker(worker("early"));
        await("the worker tried etcd and failed", () -> logContains(launched, "cannot register"));
        assertThat(launched.ready()).isNotDone(); // not ready while it is not registered
        assertThat(launched.process().isAlive()).isTrue(); // it waits for etcd rather than exiting
        assertThat(launched.logText()).contains(cluster.etcd.url().replace("etcd://", "http://"));

        cluster.etcd.start();
        LocalCluster.Role w = cluster.ready(launched);
        // The ready line came after the registration: the card is in etcd by the time a script reads it.
        try (Client etcd = Client.builder().endpoints("http://127.0.0.1:" + cluster.etcd.port()).build()) {
            var key = ByteSequence.from("/armature/startup/workers/" + w.id(), StandardCharsets.UTF_8);
            assertThat(etcd.getKVClient().get(key).get(30, TimeUnit.SECONDS).getKvs()).hasSize(1);
        }
        LocalCluster.Role frontend = cluster.frontend();
        await("the frontend serves the model", () -> models(frontend).contains("\"early\""));
        assertThat(complete(frontend, "early").statusCode()).isEqualTo(200);
        cluster.stop(frontend);
        cluster.stop(w);
    }

    @Test
    @Order(2)
    void aWorkerOrFrontendStartedWhileNatsIsDownExitsAtOnceSayingSo() throws Exception {
        cluster.nats.stop(false);
        try {
            for (LocalCluster.Launched l : new LocalCluster.Launched[] {cluster.launchWorker(worker("no-nats")), cluster.launchFrontend()}) {
                assertThat(l.process().waitFor(120, TimeUnit.SECONDS)).as("exits (hang guard)").isTrue();
                assertThat(l.process().exitValue()).isNotZero();
                assertThat(l.logText()).contains("cannot connect to NATS at " + cluster.nats.url());
                assertThat(l.ready().get(30, TimeUnit.SECONDS)).isNull();
            }
        } finally {
            cluster.nats.start();
        }
    }

    @Test
    @Order(3)
    void mutualTlsServesAFrontendWithACertificateFromTheCaAndRefusesOthers() throws Exception {
        TestCertificates certs = new TestCertificates(dir, "cluster");
        TestCertificates.Issued workerCert = certs.issue("worker", 2);
        TestCertificates.Issued frontendCert = certs.issue("frontend", 3);
        TestCertificates.Issued strangerCert = new TestCertificates(dir, "stranger").issue("intruder", 4);
        String ca = certs.caFile.toString();
        LocalCluster.Role w = cluster.worker(worker("secure", "--tls-cert", workerCert.cert().toString(), "--tls-key", workerCert.key().toString(),
                "--tls-ca", ca));

        LocalCluster.Role trusted = cluster.frontend("--tls-cert", frontendCert.cert().toString(), "--tls-key", frontendCert.key().toString(),
                "--tls-ca", ca);
        await("the trusted frontend serves the model", () -> models(trusted).contains("\"secure\""));
        HttpResponse<String> ok = complete(trusted, "secure");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(ok.body()).contains("\"completion_tokens\":3");

        LocalCluster.Launched noCert = cluster.launchFrontend("--tls-ca", ca); // trusts the worker, has no certificate
        LocalCluster.Launched wrongCa = cluster.launchFrontend("--tls-cert", strangerCert.cert().toString(), "--tls-key",
                strangerCert.key().toString(), "--tls-ca", ca);
        for (LocalCluster.Launched l : new LocalCluster.Launched[] {noCert, wrongCa}) {
            LocalCluster.Role refused = cluster.ready(l);
            await("the frontend says why the worker refused it", () -> logContains(l, "refused this process's TLS connection"));
            assertThat(models(refused)).doesNotContain("\"secure\"");
            HttpResponse<String> r = complete(refused, "secure");
            assertThat(r.statusCode()).as(r.body()).isIn(404, 503);
            cluster.stop(refused);
        }
        assertThat(complete(trusted, "secure").statusCode()).isEqualTo(200); // the worker still serves the trusted one
        cluster.stop(trusted);
        cluster.stop(w);
    }
}
