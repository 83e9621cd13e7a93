package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;

/**
 * The JSON shape of summaries and requests (snake_case, seconds, null where undefined). Written by hand rather
 * than by reflection so that the schema is visible in one place and NaN never reaches the file.
 */
public final class Json {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private Json() {
    }

    static void num(ObjectNode o, String key, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            o.putNull(key);
        } else {
            o.put(key, v);
        }
    }

    static ObjectNode stats(LatencyStats s) {
        ObjectNode o = F.objectNode();
        o.put("count", s.count());
        num(o, "mean", s.mean());
        num(o, "p50", s.p50());
        num(o, "p90", s.p90());
        num(o, "p99", s.p99());
        num(o, "min", s.min());
        num(o, "max", s.max());
        return o;
    }

    /** The {@code summary} object. */
    public static ObjectNode summary(Summary s) {
        ObjectNode o = F.objectNode();
        o.put("load", s.load());
        o.put("requests_total", s.requestsTotal());
        o.put("requests_completed", s.requestsCompleted());
        o.put("requests_failed", s.requestsFailed());
        num(o, "duration_seconds", s.durationSeconds());
        num(o, "request_throughput", s.requestThroughput());
        num(o, "output_tokens_per_second", s.outputTokensPerSecond());
        num(o, "total_tokens_per_second", s.totalTokensPerSecond());
        o.put("input_tokens", s.inputTokens());
        o.put("output_tokens", s.outputTokens());
        num(o, "goodput", s.goodput());
        o.put("good_requests", s.goodRequests());
        num(o, "slo_ttft_seconds", s.sloTtftSeconds());
        num(o, "slo_itl_seconds", s.sloItlSeconds());
        o.set("ttft_seconds", stats(s.ttft()));
        o.set("itl_seconds", stats(s.itl()));
        o.set("e2e_seconds", stats(s.e2e()));
        o.set("tpot_seconds", stats(s.tpot()));
        o.set("schedule_lag_seconds", stats(s.scheduleLag()));
        ObjectNode errors = o.putObject("errors_by_kind");
        for (Map.Entry<String, Long> e : s.errorsByKind().entrySet()) {
            errors.put(e.getKey(), e.getValue());
        }
        num(o, "prefix_cache_hit_rate", s.prefixCacheHitRate());
        num(o, "prompt_tokens_requested_mean", s.promptTokensRequestedMean());
        num(o, "prompt_tokens_actual_mean", s.promptTokensActualMean());
        num(o, "output_tokens_requested_mean", s.outputTokensRequestedMean());
        num(o, "output_tokens_actual_mean", s.outputTokensActualMean());
        o.put("requests_with_usage", s.requestsWithUsage());
        return o;
    }

    /** One element of {@code requests}. */
    public static ObjectNode request(RequestRecord r) {
        ObjectNode o = F.objectNode();
        o.put("index", r.index());
        o.put("tag", r.tag());
        o.put("endpoint", r.endpoint().path());
        o.put("ok", r.ok());
        num(o, "start_seconds", r.startOffsetNanos() / 1e9);
        num(o, "scheduled_seconds", r.scheduledOffsetNanos() >= 0 ? r.scheduledOffsetNanos() / 1e9 : Double.NaN);
        num(o, "ttft_seconds", r.ttftNanos() >= 0 ? r.ttftNanos() / 1e9 : Double.NaN);
        num(o, "e2e_seconds", r.e2eNanos() / 1e9);
        o.put("content_chunks", r.contentChunks());
        num(o, "tokens_per_chunk_gap", r.tokensPerGap());
        ArrayNode itl = o.putArray("itl_seconds");
        for (int i = 0; i < r.chunkGapsNanos().length; i++) {
            itl.add(r.itlNanos(i) / 1e9);
        }
        intOrNull(o, "prompt_tokens", r.promptTokens());
        intOrNull(o, "output_tokens", r.completionTokens());
        intOrNull(o, "cached_tokens", r.cachedTokens());
        o.put("requested_prompt_tokens", r.requestedPromptTokens());
        o.put("requested_output_tokens", r.requestedOutputTokens());
        if (r.ok()) {
            o.putNull("error");
        } else {
            ObjectNode e = o.putObject("error");
            e.put("kind", r.errorKey());
            if (r.httpStatus() > 0) {
                e.put("http_status", r.httpStatus());
            }
            e.put("message", r.errorMessage());
        }
        return o;
    }

    private static void intOrNull(ObjectNode o, String key, int v) {
        if (v < 0) {
            o.putNull(key);
        } else {
            o.put(key, v);
        }
    }

    /** A number from a summary node, NaN when absent or null. */
    public static double number(JsonNode n, String path) {
        JsonNode cur = n;
        for (String part : path.split("\\.")) {
            cur = cur == null ? null : cur.get(part);
        }
        return cur != null && cur.isNumber() ? cur.asDouble() : Double.NaN;
    }
}
