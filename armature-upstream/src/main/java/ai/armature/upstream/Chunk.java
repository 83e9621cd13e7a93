package ai.armature.upstream;

import ai.armature.protocol.TokenLogprob;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * One streamed piece of an upstream's answer, read from its JSON: the generated token ids (null when the upstream
 * gave only text), the text, logprobs with token ids (null if none), the finish reason in OpenAI's words (null until
 * the end), the usage when given (-1 fields are unknown), and an error message the upstream sent mid-stream.
 * {@link #openAi} reads {@code /v1/completions} chunks (vLLM, SGLang, llama-server's OpenAI endpoint, any OpenAI
 * server); {@link #llamaCpp} reads llama-server's own {@code /completion} chunks.
 */
record Chunk(int[] tokenIds, String text, List<TokenLogprob> logprobs, String finishReason,
             int promptTokens, int completionTokens, int cachedTokens, String error) {

    private static final String TOKEN_ID_PREFIX = "token_id:";

    boolean hasUsage() {
        return promptTokens >= 0 || completionTokens >= 0;
    }

    /** A {@code /v1/completions} chunk (one choice: the adapter sends one prompt with n = 1). */
    static Chunk openAi(JsonNode n) {
        String error = errorOf(n);
        if (error != null) return new Chunk(null, "", null, null, -1, -1, -1, error);
        JsonNode usage = n.path("usage");
        int prompt = intOr(usage, "prompt_tokens");
        int completion = intOr(usage, "completion_tokens");
        int cached = intOr(usage.path("prompt_tokens_details"), "cached_tokens");
        JsonNode choices = n.path("choices");
        if (!choices.isArray() || choices.isEmpty()) return new Chunk(null, "", null, null, prompt, completion, cached, null);
        JsonNode c = choices.get(0);
        String text = c.path("text").asText("");
        String finish = c.path("finish_reason").isTextual() ? c.get("finish_reason").asText() : null;
        JsonNode lp = c.path("logprobs");
        int[] ids = ints(c.get("token_ids"));
        List<TokenLogprob> logprobs = null;
        if (lp.path("content").isArray()) {
            // Chat-style logprob entries with ids (llama-server's OpenAI endpoint).
            logprobs = entries(lp.get("content"));
            if (ids == null && logprobs != null) ids = idsOf(logprobs);
        } else if (lp.path("tokens").isArray()) {
            // Legacy completions logprobs; vLLM names tokens "token_id:N" with return_tokens_as_token_ids.
            logprobs = legacy(lp);
            if (ids == null && logprobs != null) ids = idsOf(logprobs);
        }
        return new Chunk(ids, text, logprobs, finish, prompt, completion, cached, null);
    }

    /** A chunk of llama-server's own {@code /completion} stream. */
    static Chunk llamaCpp(JsonNode n) {
        String error = errorOf(n);
        if (error != null) return new Chunk(null, "", null, null, -1, -1, -1, error);
        int[] ids = ints(n.get("tokens"));
        List<TokenLogprob> logprobs = n.path("completion_probabilities").isArray() ? entries(n.get("completion_probabilities")) : null;
        if (ids == null && logprobs != null) ids = idsOf(logprobs);
        if (ids != null && ids.length == 0 && !n.path("content").asText("").isEmpty() && logprobs != null) ids = idsOf(logprobs);
        String finish = null;
        int prompt = -1, completion = -1, cached = -1;
        if (n.path("stop").asBoolean(false)) {
            String type = n.path("stop_type").asText("");
            boolean limit = type.equals("limit") || n.path("stopped_limit").asBoolean(false);
            finish = limit ? "length" : "stop";
            prompt = intOr(n, "tokens_evaluated");
            completion = intOr(n, "tokens_predicted");
            int computed = intOr(n.path("timings"), "prompt_n");
            if (prompt >= 0 && computed >= 0) cached = Math.max(0, prompt - computed);
        }
        return new Chunk(ids, n.path("content").asText(""), logprobs, finish, prompt, completion, cached, null);
    }

    private static String errorOf(JsonNode n) {
        JsonNode e = n.get("error");
        if (e == null || e.isNull()) return null;
        if (e.isTextual()) return e.asText();
        return e.path("message").asText(e.toString());
    }

    private static int intOr(JsonNode n, String field) {
        JsonNode v = n.path(field);
        return v.isIntegralNumber() ? v.asInt() : -1;
    }

    private static int[] ints(JsonNode a) {
        if (a == null || !a.isArray()) return null;
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    private static int[] idsOf(List<TokenLogprob> lps) {
        int[] out = new int[lps.size()];
        for (int i = 0; i < out.length; i++) out[i] = lps.get(i).tokenId();
        return out;
    }

    /** Entries {@code {id, logprob, top_logprobs: [{id, logprob}]}}; null if any lacks an id. */
    private static List<TokenLogprob> entries(JsonNode content) {
        List<TokenLogprob> out = new ArrayList<>(content.size());
        for (JsonNode e : content) {
            if (!e.path("id").isIntegralNumber()) return null;
            JsonNode top = e.path("top_logprobs");
            int k = top.isArray() ? top.size() : 0;
            int[] topIds = new int[k];
            float[] topLps = new float[k];
            for (int i = 0; i < k; i++) {
                JsonNode t = top.get(i);
                if (!t.path("id").isIntegralNumber()) return null;
                topIds[i] = t.get("id").asInt();
                topLps[i] = (float) t.path("logprob").asDouble();
            }
            out.add(new TokenLogprob(e.get("id").asInt(), (float) e.path("logprob").asDouble(), topIds, topLps));
        }
        return out;
    }

    /** Legacy {@code {tokens, token_logprobs, top_logprobs: [{token: lp}]}} with "token_id:N" names; null otherwise. */
    private static List<TokenLogprob> legacy(JsonNode lp) {
        JsonNode tokens = lp.get("tokens");
        JsonNode lps = lp.path("token_logprobs");
        JsonNode tops = lp.path("top_logprobs");
        List<TokenLogprob> out = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            int id = tokenId(tokens.get(i).asText());
            if (id < 0) return null;
            JsonNode top = tops.path(i);
            int k = top.isObject() ? top.size() : 0;
            int[] topIds = new int[k];
            float[] topLps = new float[k];
            int j = 0;
            for (var it = top.fields(); it.hasNext() && j < k; j++) {
                var f = it.next();
                topIds[j] = tokenId(f.getKey());
                if (topIds[j] < 0) return null;
                topLps[j] = (float) f.getValue().asDouble();
            }
            out.add(new TokenLogprob(id, (float) lps.path(i).asDouble(), topIds, topLps));
        }
        return out;
    }

    private static int tokenId(String s) {
        if (!s.startsWith(TOKEN_ID_PREFIX)) return -1;
        try {
            return Integer.parseInt(s.substring(TOKEN_ID_PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
