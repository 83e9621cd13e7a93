package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * The tiny random-weight demo model served as {@code armature serve} serves it (one real worker: scheduler, paged
 * KV cache, constrained decoding) behind the HTTP frontend, for end-to-end tests with official SDKs. Small KV
 * cache; closes everything it started.
 */
final class TinyModelServer implements AutoCloseable {

    final LoadedModel model;
    final GenerationEngine engine;
    final OpenAiServer server;
    final int port;
    final OpenAIClient openAi;

    TinyModelServer(Path dir) throws Exception {
        this(dir, c -> c);
    }

    TinyModelServer(Path dir, UnaryOperator<FrontendConfig> config) throws Exception {
        this(dir, config, DemoModel.Preset.TINY.spec().weightType());
    }

    /** The tiny model with its weights in {@code type}. */
    TinyModelServer(Path dir, UnaryOperator<FrontendConfig> config, ai.armature.engine.tensor.GgmlType type) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(type), file);
        model = LoadedModel.open(file);
        WorkerOptions options = new WorkerOptions();
        options.maxBatchedTokens = 128;
        options.maxSeqs = 32;
        options.kvCacheMemory = "8MiB";
        options.kvType = "f16";
        options.blockSize = 16;
        engine = WorkerFactory.start(WorkerSpec.engine(model, "tiny", options.config(1, 256)), KvEventPublisher.NONE);
        server = new OpenAiServer(config.apply(FrontendConfig.defaults("tiny").withHost("127.0.0.1").withPort(0)), engine,
                model.tokenizer(), model.chatTemplate());
        port = server.start();
        openAi = OpenAIOkHttpClient.builder().baseUrl(baseUrl() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(120)).build();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() {
        openAi.close();
        server.close();
        engine.close();
        model.close();
    }
}
