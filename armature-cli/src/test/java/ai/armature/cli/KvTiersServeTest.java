package ai.armature.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;

import ai.armature.engine.demo.DemoModel;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.protocol.GenerationEngine;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;

/**
 * {@code serve}'s KV tier options through the real wiring and HTTP: a prompt served again after its blocks left the
 * (tiny) device cache comes back from host memory with the same output; two workers keep their own disk
 * directories and find their blocks after a restart; the per-tier counters are on /metrics.
 */
class KvTiersServeTest {

    @TempDir
    Path dir;

    /** A server over {@code engine} on a free port, with an SDK client and /metrics. */
    private record Served(OpenAiServer server, OpenAIClient client, int port) implements AutoCloseable {
        static Served start(GenerationEngine engine, LoadedModel m) {
            OpenAiServer server = new OpenAiServer(FrontendConfig.defaults("tiny").withHost("127.0.0.1").withPort(0), engine,
                    m.tokenizer(), m.chatTemplate());
            int port = server.start();
            return new Served(server, OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/v1").apiKey("unused")
                    .maxRetries(0).timeout(Duration.ofSeconds(60)).build(), port);
        }

        String metrics() throws Exception {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }

        @Override
        public void close() {
            client.close();
            server.close();
        }
    }

    private static WorkerOptions options(Path disk, String diskSize) {
        WorkerOptions o = new WorkerOptions();
        o.maxBatchedTokens = 64;
        o.maxSeqs = 8;
        o.kvCacheMemory = "256KiB"; // 64 blocks of 16 tokens over all workers for the tiny model (256 bytes per token)
        o.kvType = "f16";
        o.blockSize = 16;
        o.kvHostMemory = "1MiB";
        o.kvDiskDir = disk;
        o.kvDiskSize = disk == null ? null : diskSize;
        return o;
    }

    @Test
    void aPromptWhoseBlocksLeftTheDeviceCacheIsServedFromHostMemoryWithTheSameOutput() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), model);
        String prompt = "one two three four five six seven eight nine ten ".repeat(4);
        try (LoadedModel m = LoadedModel.open(model);
             GenerationEngine engine = Workers.start(WorkerSpec.engine(m, "tiny", options(null, null).config(1, 64)), 1, null);
             Served served = Served.start(engine, m)) {
            String first = complete(served.client(), prompt);
            for (int i = 0; i < 8; i++) complete(served.client(), "filler " + i + " alpha beta gamma delta".repeat(10));
            assertThat(complete(served.client(), prompt)).isEqualTo(first);
            assertThat(engine.kvTierStats()).singleElement().satisfies(host -> {
                assertThat(host.hitBlocks()).isPositive();
                assertThat(host.upBlocks()).isEqualTo(host.hitBlocks());
            });
            assertThat(served.metrics()).contains("armature_kv_tier_hit_blocks_total{tier=\"host\"}",
                    "armature_kv_tier_moved_bytes_total{direction=\"up\",tier=\"host\"}",
                    "armature_kv_tier_capacity_blocks{tier=\"host\"} 256.0");
        }
    }

    @Test
    void twoWorkersKeepTheirOwnDiskDirectoriesAndFindTheirBlocksAfterARestart() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), model);
        Path disk = dir.resolve("kv");
        try (LoadedModel m = LoadedModel.open(model)) {
            try (GenerationEngine engine = Workers.start(WorkerSpec.engine(m, "tiny", options(disk, "8MiB").config(2, 64)), 2, ai.armature.router.RouterConfig.defaults());
                 Served served = Served.start(engine, m)) {
                for (int i = 0; i < 4; i++) complete(served.client(), "request " + i + " alpha beta gamma delta".repeat(6));
                assertThat(engine.kvTierStats()).extracting(t -> t.tier()).containsExactly(
                        ai.armature.protocol.kv.KvTier.HOST, ai.armature.protocol.kv.KvTier.DISK);
                assertThat(served.metrics()).contains("armature_kv_tier_blocks{tier=\"disk\"}",
                        "armature_kv_tier_moved_blocks_total{direction=\"down\",tier=\"host\"}");
            }
            long files = 0;
            for (String w : new String[] {"worker-0", "worker-1"}) {
                assertThat(disk.resolve(w)).isDirectory();
                try (var s = Files.list(disk.resolve(w))) {
                    files += s.filter(p -> p.toString().endsWith(".kvb")).count();
                }
            }
            // Host blocks are written to disk at shutdown, so every block cached in the run is on disk.
            assertThat(files).isPositive();
            try (GenerationEngine engine = Workers.start(WorkerSpec.engine(m, "tiny", options(disk, "8MiB").config(2, 64)), 2, ai.armature.router.RouterConfig.defaults())) {
                long blocks = 0;
                for (var t : engine.kvTierStats()) if (t.tier() == ai.armature.protocol.kv.KvTier.DISK) blocks = t.blocks();
                assertThat(blocks).isEqualTo(files);
            }
        }
    }

    @Test
    void tierOptionsThatCannotWorkAreRefusedWithTheReason() {
        WorkerOptions noSize = options(dir.resolve("kv"), "1MiB");
        noSize.kvDiskSize = null;
        assertThatThrownBy(() -> noSize.config(1, 8)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--kv-disk-size");
        WorkerOptions noDir = options(null, null);
        noDir.kvDiskSize = "1MiB";
        assertThatThrownBy(() -> noDir.config(1, 8)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--kv-disk-dir");
        WorkerOptions zero = options(null, null);
        zero.kvHostMemory = "0";
        assertThatThrownBy(() -> zero.config(1, 8)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--kv-host-memory");
    }

    private static String complete(OpenAIClient client, String prompt) {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("tiny").prompt(prompt)
                .maxTokens(8).temperature(0.0).build());
        return c.choices().getFirst().text();
    }
}
