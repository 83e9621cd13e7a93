package ai.armature.cli;

import ai.armature.serving.worker.ModelTokenizer;
import ai.armature.upstream.UpstreamConfig;
import ai.armature.upstream.UpstreamKind;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The options that put external engines behind Armature ({@code serve --upstream}, {@code worker --upstream}): where
 * they are, what kind, the served tokenizer, the block size the router indexes them in, their ZMQ KV event
 * publishers, and what the upstream itself needs (an API key, its context length when it does not report one).
 */
final class UpstreamOptions {

    @Option(names = "--upstream", paramLabel = "URL",
            description = {"An external OpenAI-compatible engine to serve through (vLLM, SGLang, llama-server, any OpenAI server),",
                    "e.g. http://127.0.0.1:8000; repeat for several (they are routed as workers of one model)."})
    List<String> upstreams = new ArrayList<>();

    @Option(names = "--upstream-kind", paramLabel = "KIND", defaultValue = "vllm",
            description = "vllm, sglang, llama.cpp or openai (what the upstreams are; see the README). Default: ${DEFAULT-VALUE}.")
    String kind;

    @Option(names = "--tokenizer", paramLabel = "FILE|DIR",
            description = {"The served model's tokenizer: a Hugging Face model directory (tokenizer.json, tokenizer_config.json),",
                    "its tokenizer.json, or the model's GGUF file (only its header is read). Chat templates and stop strings use it."})
    Path tokenizer;

    @Option(names = "--kv-events", paramLabel = "tcp://HOST:PORT",
            description = {"The ZMQ endpoint where an upstream publishes KV events (vLLM --kv-events-config, SGLang",
                    "--kv-events-config): routes it exactly. With several --upstream, give one per upstream, in the same order."})
    List<String> kvEvents = new ArrayList<>();

    @Option(names = "--upstream-block-size", paramLabel = "B",
            description = {"Tokens per block the router indexes the upstreams' caches in. Default: the engine's (vllm 16,",
                    "sglang 1, its page size; llama.cpp and openai 16, for approximate routing only)."})
    Integer blockSize;

    @Option(names = "--upstream-api-key", paramLabel = "KEY", description = "Bearer key the upstreams require (vLLM --api-key).")
    String apiKey;

    @Option(names = "--upstream-context-length", paramLabel = "N",
            description = "The upstreams' context length in tokens, for servers that do not report max_model_len. Default: asked.")
    Integer contextLength;

    boolean enabled() {
        return !upstreams.isEmpty();
    }

    UpstreamKind kind() {
        return UpstreamKind.parse(kind);
    }

    /** The KV event endpoint of upstream {@code i}, or null; checks their count and form. */
    String kvEventsOf(int i) {
        if (kvEvents.isEmpty()) return null;
        if (kvEvents.size() != upstreams.size()) {
            throw new IllegalArgumentException("give one --kv-events per --upstream (in the same order): got " + kvEvents.size()
                    + " for " + upstreams.size() + " upstream(s)");
        }
        String e = kvEvents.get(i);
        if (!e.matches("tcp://[^:/]+:\\d+")) throw new IllegalArgumentException("--kv-events must be tcp://HOST:PORT, got '" + e + "'");
        if (!kind().publishesKvEvents()) {
            throw new IllegalArgumentException("--kv-events: a " + kind().cliName() + " upstream publishes no KV events (vLLM and SGLang do)");
        }
        return e;
    }

    /** The upstream configs, one per --upstream, sharing the tokenizer's end-of-generation ids and encoder. */
    List<UpstreamConfig> configs(String servedModelName, ModelTokenizer tok, java.util.function.IntFunction<String> workerIds) {
        if (tokenizer == null) throw new IllegalArgumentException("--upstream needs --tokenizer FILE|DIR (the served model's tokenizer)");
        if (blockSize != null && blockSize < 1) throw new IllegalArgumentException("--upstream-block-size must be >= 1, got " + blockSize);
        if (contextLength != null && contextLength < 2) throw new IllegalArgumentException("--upstream-context-length must be >= 2");
        UpstreamKind k = kind();
        int[] eog = ModelTokenizer.endOfGenerationIds(tok.tokenizer());
        List<UpstreamConfig> out = new ArrayList<>();
        for (int i = 0; i < upstreams.size(); i++) {
            kvEventsOf(i);
            URI url;
            try {
                url = new URI(upstreams.get(i));
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("--upstream must be a URL like http://HOST:PORT, got '" + upstreams.get(i) + "'");
            }
            String id = workerIds.apply(i);
            UpstreamConfig c = UpstreamConfig.of(url, k, id, servedModelName, eog, text -> tok.tokenizer().encode(text, false, false));
            if (blockSize != null) c = c.withBlockSize(blockSize);
            if (apiKey != null) c = c.withApiKey(apiKey);
            if (contextLength != null) c = c.withContextLength(contextLength);
            out.add(c);
        }
        return out;
    }

    /** The tokenizer's source: a tokenizer.json file stands for its directory. */
    Path tokenizerSource() throws IOException {
        if (tokenizer == null) throw new IllegalArgumentException("--upstream needs --tokenizer FILE|DIR (the served model's tokenizer)");
        if (!Files.exists(tokenizer)) throw new CliErrors.UserError("--tokenizer " + tokenizer + " does not exist");
        if (Files.isRegularFile(tokenizer) && tokenizer.getFileName().toString().endsWith(".json")) {
            Path dir = tokenizer.toAbsolutePath().getParent();
            if (!tokenizer.getFileName().toString().equals("tokenizer.json")) {
                throw new CliErrors.UserError("--tokenizer: give the model directory or its tokenizer.json, got " + tokenizer);
            }
            return dir;
        }
        return tokenizer;
    }
}
