package ai.armature.cli;

import ai.armature.engine.chat.JinjaChatTemplate;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.frontend.ApiOptions;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.mock.ScriptedModelRunner;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;

/**
 * A real frontend and scheduler over a model that answers each prompt with {@code reply(prompt text)} (the scripted
 * runner emits those tokens), with a real tokenizer and chat template: for testing the parsing of what real models
 * write through the official SDKs. Closes everything it started.
 */
record ScriptedServer(ServingEngine engine, OpenAiServer server, OpenAIClient openAi) implements AutoCloseable {

    static ScriptedServer start(Tokenizer tok, JinjaChatTemplate template, ApiOptions apis, Function<String, String> reply) {
        int eos = -1;
        for (int id = 0; id < tok.vocabSize() && eos < 0; id++) if (tok.isEndOfGeneration(id)) eos = id;
        ScriptedModelRunner runner = new ScriptedModelRunner(tok.vocabSize(), 4096, new int[] {eos},
                prompt -> tok.encode(reply.apply(tok.decode(prompt, true)), false, true));
        // Structured output compiles against the real vocabulary, as a worker's does.
        ServingEngine engine = new ServingEngine(runner, new ServingConfig(16, 512, 8, 1L << 20, 64, KvDtype.F16), KvEventPublisher.NONE,
                new ai.armature.engine.grammar.GrammarCompiler(ai.armature.engine.grammar.TokenVocabulary.of(tok, tok.vocabSize())));
        OpenAiServer server = new OpenAiServer(FrontendConfig.defaults("m").withHost("127.0.0.1").withPort(0).withApis(apis), engine, tok, template);
        server.start();
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
        return new ScriptedServer(engine, server, client);
    }

    private static final Path QWEN3 = Path.of("../../shared/fixtures/tokenizers/hf/qwen3");

    /**
     * Qwen3's tokenizer and chat template (from the shared fixtures; the test is skipped without them) with the qwen3
     * reasoning parser, the model answering as {@link #qwen3Reply} does.
     */
    static ScriptedServer qwen3() throws IOException {
        Assumptions.assumeTrue(Files.exists(QWEN3), "needs the Qwen3 tokenizer in ../shared/fixtures (see its README)");
        Tokenizer tok = Tokenizers.load(QWEN3.resolve("tokenizer.json"));
        String src = new ObjectMapper().readTree(QWEN3.resolve("tokenizer_config.json").toFile()).get("chat_template").asText();
        return start(tok, new JinjaChatTemplate(src, "", "<|im_end|>", false), new ApiOptions(null, "qwen3"), ScriptedServer::qwen3Reply);
    }

    /**
     * What the scripted Qwen3 writes: asked to describe Ann, a thought and a JSON answer; after a weather tool's result, an answer from it; asked about the weather, a
     * thought, a sentence and a Hermes call of get_weather for Paris; otherwise a sentence with "STOP" in it.
     */
    static String qwen3Reply(String prompt) {
        if (prompt.contains("Describe Ann")) return "<think>\nThey want {JSON}, not prose: \"name\" then \"age\".\n</think>\n\n{\"name\": \"Ann\", \"age\": 7}";
        if (prompt.contains("<tool_response>\n22 degrees\n</tool_response>")) return "<think>\nThe tool answered.\n</think>\n\nIt is 22 degrees in Paris.";
        if (prompt.contains("weather")) {
            return "<think>\nI need the weather tool.\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        }
        return "Hello! Here STOP is more text that goes on and on.";
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.port();
    }

    @Override
    public void close() {
        openAi.close();
        server.close();
        engine.close();
    }
}
