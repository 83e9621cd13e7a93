package ai.armature.frontend;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts OpenAI chat messages into the shape chat templates expect, as transformers' documentation and vLLM do:
 * an assistant message's tool-call {@code arguments}, which OpenAI sends as JSON text, become the object they
 * encode (templates write them with {@code tojson} or read their fields); a missing or null {@code content}
 * becomes empty text (templates concatenate and search it).
 */
final class ChatMessages {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ChatMessages() {
    }

    /** Prepares one message (a mutable map from the request) in place; {@code param} names it in errors. */
    static void prepareForTemplate(Map<String, Object> m, String param) {
        if (m.get("content") == null) m.put("content", "");
        Object calls = m.get("tool_calls");
        if (calls == null) {
            m.remove("tool_calls");
            return;
        }
        if (!(calls instanceof List<?> list)) throw ApiException.badRequest(param + ".tool_calls", param + ".tool_calls must be an array");
        for (int i = 0; i < list.size(); i++) {
            String where = param + ".tool_calls[" + i + "]";
            if (!(list.get(i) instanceof Map<?, ?> call) || !(call.get("function") instanceof Map<?, ?> f) || !(f.get("name") instanceof String)) {
                throw ApiException.badRequest(where, where + " must be {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> function = (Map<String, Object>) f;
            if (function.get("arguments") instanceof String text) function.put("arguments", parseArguments(text, where));
        }
    }

    private static Object parseArguments(String text, String where) {
        if (text.isBlank()) return new LinkedHashMap<>();
        try {
            return JSON.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(where + ".function.arguments", "tool-call arguments must be JSON text, got " + text);
        }
    }
}
