package ai.armature.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.logging.Logger;

/**
 * Learns an upstream's {@link UpstreamInfo} when the adapter reaches it (at start and after it recovers): the model
 * it serves and its context length ({@code GET /v1/models}: vLLM, SGLang and Armature report {@code max_model_len};
 * llama-server's {@code GET /props} its per-slot {@code n_ctx} and slot count), and where generated token ids come
 * from, by asking for one token the way requests will.
 */
final class UpstreamProbe {

    private static final Logger LOG = Logger.getLogger(UpstreamProbe.class.getName());

    private UpstreamProbe() {
    }

    static UpstreamInfo probe(UpstreamHttp http, UpstreamConfig config) throws IOException, InterruptedException {
        var timeout = config.requestTimeout();
        JsonNode models = http.get("/v1/models", timeout);
        JsonNode data = models.path("data");
        String model = null;
        int context = 0;
        if (data.isArray()) {
            for (JsonNode m : data) {
                if (model == null || m.path("id").asText().equals(config.servedModelName())) {
                    model = m.path("id").asText(null);
                    context = m.path("max_model_len").asInt(0);
                }
            }
        }
        if (model == null) throw new IOException("GET /v1/models lists no model");
        long capacity = 0;
        if (config.kind() == UpstreamKind.LLAMA_CPP) {
            JsonNode props = http.get("/props", timeout);
            int slotContext = props.path("default_generation_settings").path("n_ctx").asInt(0);
            int slots = Math.max(1, props.path("total_slots").asInt(1));
            int total = props.path("n_ctx").asInt(0);
            if (slotContext > 0) context = slotContext;
            capacity = total > 0 ? total : (long) slotContext * slots;
        }
        if (config.contextLength() > 0) context = config.contextLength();
        if (context <= 0) {
            throw new IOException("the upstream does not report its context length (no max_model_len in GET /v1/models); "
                    + "pass --upstream-context-length N");
        }
        TokenIdSource source = tokenIds(http, config, model);
        if (source == TokenIdSource.TEXT && config.kind() != UpstreamKind.OPENAI) {
            LOG.warning("upstream " + config.baseUrl() + " returns no token ids; re-tokenizing its text (upgrade it: vLLM needs "
                    + "return_token_ids, SGLang return_token_ids on completions, llama-server return_tokens)");
        }
        return new UpstreamInfo(model, context, capacity, source);
    }

    private static TokenIdSource tokenIds(UpstreamHttp http, UpstreamConfig config, String model) throws IOException, InterruptedException {
        int token = config.endOfGenerationIds().length > 0 ? config.endOfGenerationIds()[0] : 0;
        var timeout = config.requestTimeout();
        switch (config.kind()) {
            case OPENAI -> {
                return TokenIdSource.TEXT;
            }
            case VLLM, SGLANG -> {
                ObjectNode b = oneToken(token);
                b.put("model", model);
                b.put("max_tokens", 1);
                b.put("return_token_ids", true);
                JsonNode r = http.post("/v1/completions", b, timeout);
                return r.path("choices").path(0).path("token_ids").isArray() ? TokenIdSource.TOKEN_IDS : TokenIdSource.TEXT;
            }
            case LLAMA_CPP -> {
                ObjectNode b = oneToken(token);
                b.put("n_predict", 1);
                b.put("return_tokens", true);
                b.put("cache_prompt", false);
                if (http.post("/completion", b, timeout).path("tokens").isArray()) return TokenIdSource.TOKEN_IDS;
                ObjectNode o = oneToken(token);
                o.put("max_tokens", 1);
                o.put("logprobs", 1);
                JsonNode r = http.post("/v1/completions", o, timeout);
                JsonNode first = r.path("choices").path(0).path("logprobs").path("content").path(0);
                return first.path("id").isIntegralNumber() ? TokenIdSource.LOGPROB_IDS : TokenIdSource.TEXT;
            }
        }
        throw new IllegalStateException();
    }

    private static ObjectNode oneToken(int token) {
        ObjectNode b = UpstreamHttp.JSON.createObjectNode();
        b.putArray("prompt").add(token);
        b.put("temperature", 0.0);
        return b;
    }
}
