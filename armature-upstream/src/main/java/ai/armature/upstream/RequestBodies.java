package ai.armature.upstream;

import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.OutputConstraint;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Builds the upstream request for a {@link GenerateRequest}: the prompt as token ids, the token limit, the sampling
 * parameters and seed, the end-of-generation handling, and the kind's way of asking for token ids back. Stop
 * strings, templates and parsers never go upstream: they stay in Armature's frontend. A parameter the upstream
 * cannot honour is refused ({@link RequestRejectedException.Reason#INVALID}) rather than dropped.
 */
final class RequestBodies {

    /** Where a request goes and what it says. */
    record Call(String path, ObjectNode body, boolean nativeLlamaCpp) {
    }

    private RequestBodies() {
    }

    static Call build(UpstreamConfig config, UpstreamInfo info, GenerateRequest request) {
        SamplingParams s = request.sampling();
        StopConditions stop = request.stop();
        UpstreamKind kind = config.kind();
        if (request.cacheSalt() != null && kind != UpstreamKind.VLLM) {
            throw invalid("cache_salt is not supported by a " + kind.cliName() + " upstream");
        }
        if (s.logprobs() >= 0 && info.tokenIds() == TokenIdSource.TEXT) {
            throw invalid("logprobs are not available through this upstream: it returns no token ids (" + kind.cliName() + ")");
        }
        if (s.logprobs() >= 0 && kind == UpstreamKind.SGLANG) {
            throw invalid("logprobs are not available through an SGLang upstream: its logprobs name tokens by text, not id");
        }
        int[] extraStops = extraStopIds(config, stop);
        if (!kind.extendedSampling()) {
            if (s.topK() > 0) throw invalid("top_k is not supported by a generic OpenAI upstream; use --upstream-kind vllm, sglang or llama.cpp");
            if (s.minP() > 0) throw invalid("min_p is not supported by a generic OpenAI upstream");
            if (s.repetitionPenalty() != 1) throw invalid("repetition_penalty is not supported by a generic OpenAI upstream");
            if (stop.ignoreEos()) throw invalid("ignore_eos is not supported by a generic OpenAI upstream");
        }
        if (extraStops.length > 0 && (kind == UpstreamKind.OPENAI || kind == UpstreamKind.LLAMA_CPP)) {
            throw invalid("stop token ids other than the model's end of generation are not supported by a " + kind.cliName() + " upstream");
        }
        OutputConstraint constraint = request.constraint();
        if (constraint != null && kind != UpstreamKind.VLLM && kind != UpstreamKind.LLAMA_CPP) {
            throw invalid("structured output (response_format) is not forwarded to a " + kind.cliName() + " upstream; use --upstream-kind vllm or llama.cpp");
        }
        boolean nativeLlama = kind == UpstreamKind.LLAMA_CPP && info.tokenIds() != TokenIdSource.LOGPROB_IDS;
        ObjectNode b = UpstreamHttp.JSON.createObjectNode();
        if (constraint != null) putConstraint(b, kind, constraint);
        ArrayNode prompt = b.putArray("prompt");
        for (int t : request.promptTokens()) prompt.add(t);
        b.put("stream", true);
        b.put("temperature", s.greedy() ? 0.0 : s.temperature());
        b.put("top_p", s.topP());
        b.put("presence_penalty", s.presencePenalty());
        b.put("frequency_penalty", s.frequencyPenalty());
        if (!s.logitBias().isEmpty()) putLogitBias(b, s.logitBias(), nativeLlama);
        if (kind == UpstreamKind.LLAMA_CPP) {
            // llama-server's defaults are not neutral (top_k 40, min_p 0.05): every knob is sent explicitly.
            b.put("top_k", Math.max(0, s.topK()));
            b.put("min_p", s.minP());
            b.put("repeat_penalty", s.repetitionPenalty());
            b.put("seed", llamaSeed(s.seed()));
            b.put("ignore_eos", stop.ignoreEos());
            b.put("cache_prompt", true);
            if (nativeLlama) {
                b.put("n_predict", stop.maxTokens());
                if (info.tokenIds() == TokenIdSource.TOKEN_IDS) b.put("return_tokens", true);
                if (s.logprobs() >= 0) b.put("n_probs", Math.max(1, s.logprobs()));
                return new Call("/completion", b, true);
            }
            b.put("max_tokens", stop.maxTokens());
            b.put("logprobs", Math.max(1, s.logprobs()));
        } else {
            b.put("model", info.upstreamModel());
            b.put("max_tokens", stop.maxTokens());
            b.put("seed", s.seed());
            if (kind.extendedSampling()) {
                if (s.topK() > 0) b.put("top_k", s.topK());
                if (s.minP() > 0) b.put("min_p", s.minP());
                if (s.repetitionPenalty() != 1) b.put("repetition_penalty", s.repetitionPenalty());
                if (stop.ignoreEos()) b.put("ignore_eos", true);
                if (stop.stopTokenIds().length > 0) {
                    ArrayNode ids = b.putArray("stop_token_ids");
                    for (int t : stop.stopTokenIds()) ids.add(t);
                }
                if (info.tokenIds() == TokenIdSource.TOKEN_IDS) b.put("return_token_ids", true);
            }
            if (s.logprobs() >= 0) {
                b.put("logprobs", s.logprobs());
                if (kind == UpstreamKind.VLLM) b.put("return_tokens_as_token_ids", true);
            }
            if (request.cacheSalt() != null) b.put("cache_salt", request.cacheSalt());
        }
        b.putObject("stream_options").put("include_usage", true);
        return new Call("/v1/completions", b, false);
    }

    /**
     * OpenAI's logit_bias: an object from token id (as a string) to bias on /v1/completions, which every kind takes;
     * llama-server's own /completion takes [id, bias] pairs.
     */
    private static void putLogitBias(ObjectNode b, ai.armature.protocol.LogitBias bias, boolean nativeLlama) {
        int[] ids = bias.tokenIds();
        float[] values = bias.biases();
        if (nativeLlama) {
            ArrayNode pairs = b.putArray("logit_bias");
            for (int i = 0; i < ids.length; i++) pairs.addArray().add(ids[i]).add(values[i]);
        } else {
            ObjectNode o = b.putObject("logit_bias");
            for (int i = 0; i < ids.length; i++) o.put(Integer.toString(ids[i]), values[i]);
        }
    }

    /** The constraint as the upstream takes it: vLLM's response_format, llama-server's json_schema (completions take both). */
    private static void putConstraint(ObjectNode b, UpstreamKind kind, OutputConstraint c) {
        com.fasterxml.jackson.databind.JsonNode schema;
        try {
            schema = c.kind() == OutputConstraint.Kind.JSON_OBJECT
                    ? UpstreamHttp.JSON.createObjectNode().put("type", "object") : UpstreamHttp.JSON.readTree(c.spec());
        } catch (java.io.IOException e) {
            throw invalid("the output constraint's schema is not valid JSON: " + e.getMessage());
        }
        if (kind == UpstreamKind.LLAMA_CPP) {
            b.set("json_schema", schema);
        } else if (c.kind() == OutputConstraint.Kind.JSON_OBJECT) {
            b.putObject("response_format").put("type", "json_object");
        } else {
            ObjectNode rf = b.putObject("response_format");
            rf.put("type", "json_schema");
            rf.putObject("json_schema").put("name", "output").set("schema", schema);
        }
    }

    /** llama-server reads the seed as an unsigned 32-bit value and takes 0xFFFFFFFF as "random": fold into the rest. */
    static long llamaSeed(long seed) {
        return Long.remainderUnsigned(seed, 0xFFFFFFFFL);
    }

    private static int[] extraStopIds(UpstreamConfig config, StopConditions stop) {
        int n = 0;
        int[] out = new int[stop.stopTokenIds().length];
        for (int t : stop.stopTokenIds()) if (!config.isEndOfGeneration(t)) out[n++] = t;
        return java.util.Arrays.copyOf(out, n);
    }

    private static RequestRejectedException invalid(String message) {
        return new RequestRejectedException(RequestRejectedException.Reason.INVALID, message);
    }
}
