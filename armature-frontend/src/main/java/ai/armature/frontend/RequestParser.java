package ai.armature.frontend;

import ai.armature.protocol.LogitBias;
import ai.armature.protocol.SamplingParams;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and validates the parameters chat and completions requests share, with the names and ranges OpenAI uses;
 * a bad value is an {@link ApiException} (400) naming the parameter. Fields it does not know are ignored, as
 * OpenAI ignores them; known fields whose feature does not exist yet are refused rather than silently ignored.
 */
final class RequestParser {

    static final int MAX_N = 128;
    static final int MAX_TOP_LOGPROBS = 20;

    private RequestParser() {
    }

    static GenerationParams parse(JsonNode body, Endpoint endpoint, int vocabSize) {
        boolean stream = bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode streamOptions = body.get("stream_options");
        if (present(streamOptions)) {
            if (!streamOptions.isObject()) throw ApiException.badRequest("stream_options", "stream_options must be an object");
            if (!stream) throw ApiException.badRequest("stream_options", "stream_options is only allowed when stream is true");
            includeUsage = bool(streamOptions, "include_usage", false, "stream_options.include_usage");
        }
        int n = integer(body, "n", 1, 1, MAX_N);
        boolean echo = endpoint == Endpoint.COMPLETIONS && bool(body, "echo", false);
        Integer maxTokens = optionalInteger(body, "max_completion_tokens", 1);
        // max_tokens 0 asks only for the prompt back (echo): how evaluation harnesses score a text's likelihood.
        if (maxTokens == null) maxTokens = optionalInteger(body, "max_tokens", echo ? 0 : 1);

        double temperature = number(body, "temperature", 1.0, 0, 2);
        double topP = number(body, "top_p", 1.0, Double.MIN_VALUE, 1);
        int topK = integer(body, "top_k", 0, -1, Integer.MAX_VALUE);
        double minP = number(body, "min_p", 0, 0, 1);
        double presence = number(body, "presence_penalty", 0, -2, 2);
        double frequency = number(body, "frequency_penalty", 0, -2, 2);
        double repetition = number(body, "repetition_penalty", 1, Double.MIN_VALUE, Double.MAX_VALUE);
        JsonNode seedNode = body.get("seed");
        long seed;
        if (present(seedNode)) {
            if (!seedNode.isIntegralNumber() || !seedNode.canConvertToLong()) throw ApiException.badRequest("seed", "seed must be an integer");
            seed = seedNode.asLong();
        } else {
            seed = ThreadLocalRandom.current().nextLong();
        }
        int logprobs = switch (endpoint) {
            case CHAT -> chatLogprobs(body);
            case COMPLETIONS -> {
                Integer lp = optionalInteger(body, "logprobs", 0);
                if (lp != null && lp > MAX_TOP_LOGPROBS) throw ApiException.badRequest("logprobs", "logprobs must be at most " + MAX_TOP_LOGPROBS + ", got " + lp);
                yield lp == null ? -1 : lp;
            }
        };
        int promptLogprobs = -1;
        Integer pl = optionalInteger(body, "prompt_logprobs", 0);
        if (pl != null) {
            if (endpoint != Endpoint.COMPLETIONS) {
                throw ApiException.badRequest("prompt_logprobs", "prompt_logprobs is supported on /v1/completions only");
            }
            if (pl > MAX_TOP_LOGPROBS) throw ApiException.badRequest("prompt_logprobs", "prompt_logprobs must be at most " + MAX_TOP_LOGPROBS + ", got " + pl);
            if (stream) throw ApiException.badRequest("prompt_logprobs", "prompt_logprobs is supported without stream only");
            promptLogprobs = pl;
        }
        List<String> stop = stopStrings(body.get("stop"));
        int[] stopTokenIds = tokenIds(body.get("stop_token_ids"), "stop_token_ids", vocabSize);
        boolean ignoreEos = bool(body, "ignore_eos", false);
        int minTokens = integer(body, "min_tokens", 0, 0, Integer.MAX_VALUE);
        if (maxTokens != null && minTokens > maxTokens) {
            throw ApiException.badRequest("min_tokens", "min_tokens (" + minTokens + ") must not exceed max_tokens (" + maxTokens + ")");
        }
        checkUnsupported(body, endpoint, n);
        SamplingParams sampling = new SamplingParams(temperature, topP, topK <= 0 ? 0 : topK, minP, repetition,
                presence, frequency, seed, logprobs, Math.max(promptLogprobs, echo ? logprobs : -1), LogitBias.NONE)
                .withLogitBias(logitBias(body.get("logit_bias"), vocabSize));
        boolean returnTokenIds = bool(body, "return_token_ids", false);
        boolean tokensAsIds = bool(body, "return_tokens_as_token_ids", false);
        return new GenerationParams(stream, includeUsage, n, maxTokens, sampling, stop, stopTokenIds, ignoreEos, minTokens,
                logprobs, returnTokenIds, tokensAsIds, ResponseFormats.constraint(body.get("response_format")), echo,
                promptLogprobs);
    }

    private static int chatLogprobs(JsonNode body) {
        boolean want = bool(body, "logprobs", false);
        Integer top = optionalInteger(body, "top_logprobs", 0);
        if (top != null && top > MAX_TOP_LOGPROBS) throw ApiException.badRequest("top_logprobs", "top_logprobs must be at most " + MAX_TOP_LOGPROBS + ", got " + top);
        if (top != null && !want) throw ApiException.badRequest("top_logprobs", "top_logprobs requires logprobs to be true");
        return want ? (top == null ? 0 : top) : -1;
    }

    private static void checkUnsupported(JsonNode body, Endpoint endpoint, int n) {
        if (endpoint == Endpoint.COMPLETIONS) {
            JsonNode suffix = body.get("suffix");
            if (present(suffix) && !(suffix.isTextual() && suffix.asText().isEmpty())) {
                throw ApiException.badRequest("suffix", "suffix is not supported");
            }
            Integer bestOf = optionalInteger(body, "best_of", 1);
            if (bestOf != null && bestOf != n) throw ApiException.badRequest("best_of", "best_of must equal n (" + n + "); other values are not supported");
        }
    }

    /** OpenAI's logit_bias: token id (a string key) to a value in [-100, 100] added to its logit. */
    private static LogitBias logitBias(JsonNode node, int vocabSize) {
        if (!present(node)) return LogitBias.NONE;
        if (!node.isObject()) throw ApiException.badRequest("logit_bias", "logit_bias must be an object from token id to bias");
        Map<Integer, Float> bias = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException x) {
                throw ApiException.badRequest("logit_bias", "logit_bias keys must be token ids, got '" + e.getKey() + "'");
            }
            if (id < 0 || id >= vocabSize) {
                throw ApiException.badRequest("logit_bias", "logit_bias token ids must be in [0, " + vocabSize + "), got " + id);
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.asDouble() >= -100 && v.asDouble() <= 100)) {
                throw ApiException.badRequest("logit_bias", "logit_bias values must be numbers in [-100, 100], got " + v + " for token " + id);
            }
            if (bias.put(id, v.floatValue()) != null) {
                throw ApiException.badRequest("logit_bias", "logit_bias names token " + id + " twice");
            }
        }
        return LogitBias.of(bias);
    }

    private static List<String> stopStrings(JsonNode node) {
        if (!present(node)) return List.of();
        List<String> out = new ArrayList<>();
        if (node.isTextual()) {
            out.add(node.asText());
        } else if (node.isArray()) {
            for (JsonNode s : node) {
                if (!s.isTextual()) throw ApiException.badRequest("stop", "stop must be a string or an array of strings");
                out.add(s.asText());
            }
        } else {
            throw ApiException.badRequest("stop", "stop must be a string or an array of strings");
        }
        if (out.size() > 16) throw ApiException.badRequest("stop", "at most 16 stop strings are allowed, got " + out.size());
        for (String s : out) if (s.isEmpty()) throw ApiException.badRequest("stop", "stop strings must not be empty");
        return List.copyOf(out);
    }

    /** An optional array of token ids within the vocabulary. */
    private static int[] tokenIds(JsonNode node, String param, int vocabSize) {
        if (!present(node)) return new int[0];
        if (!node.isArray()) throw ApiException.badRequest(param, param + " must be an array of token ids");
        int[] ids = new int[node.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = node.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocabSize) {
                throw ApiException.badRequest(param, param + " must hold token ids in [0, " + vocabSize + "), got " + t);
            }
            ids[i] = t.asInt();
        }
        return ids;
    }

    static boolean present(JsonNode node) {
        return node != null && !node.isNull() && !node.isMissingNode();
    }

    static boolean bool(JsonNode body, String name, boolean def) {
        return bool(body, name, def, name);
    }

    private static boolean bool(JsonNode body, String name, boolean def, String param) {
        JsonNode v = body.get(name);
        if (!present(v)) return def;
        if (!v.isBoolean()) throw ApiException.badRequest(param, param + " must be a boolean, got " + v);
        return v.asBoolean();
    }

    private static double number(JsonNode body, String name, double def, double min, double max) {
        JsonNode v = body.get(name);
        if (!present(v)) return def;
        if (!v.isNumber()) throw ApiException.badRequest(name, name + " must be a number, got " + v);
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw ApiException.badRequest(name, name + " must be in [" + fmt(min) + ", " + fmt(max) + "], got " + v);
        }
        return d;
    }

    private static String fmt(double d) {
        if (d == Double.MIN_VALUE) return "0 (exclusive)";
        if (d == Double.MAX_VALUE) return "inf";
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static int integer(JsonNode body, String name, int def, int min, int max) {
        Integer v = optionalInteger(body, name, min);
        if (v == null) return def;
        if (v > max) throw ApiException.badRequest(name, name + " must be at most " + max + ", got " + v);
        return v;
    }

    private static Integer optionalInteger(JsonNode body, String name, int min) {
        JsonNode v = body.get(name);
        if (!present(v)) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.badRequest(name, name + " must be an integer, got " + v);
        int i = v.asInt();
        if (i < min) throw ApiException.badRequest(name, name + " must be at least " + min + ", got " + i);
        return i;
    }
}
