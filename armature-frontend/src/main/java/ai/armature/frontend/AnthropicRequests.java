package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * Turns an Anthropic Messages request into the OpenAI chat body the generation path serves, so both APIs share one
 * prompt, sampling, tool and constraint path: {@code system} becomes a system message; {@code text} blocks become
 * message text; an assistant's {@code tool_use} blocks become its {@code tool_calls}; a user's
 * {@code tool_result} blocks become {@code tool} messages (ahead of its text, right after the calls they answer);
 * {@code tools} become function tools ({@code input_schema} is the parameter schema) and {@code tool_choice}
 * auto / any / tool / none become auto / required / a named function / none
 * ({@code disable_parallel_tool_use}: {@code parallel_tool_calls} false). {@code cache_control} is a hint that
 * needs nothing here (prefix caching is automatic); thinking blocks of earlier turns are dropped, as the common
 * chat templates drop earlier reasoning. What has no equivalent (images, documents, server tools, thinking budgets,
 * a final assistant message to continue) is a 400 naming it.
 */
final class AnthropicRequests {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private AnthropicRequests() {
    }

    /** The chat body for {@code body}; throws ApiException (400) for what is missing, invalid or unsupported. */
    static ObjectNode toChat(JsonNode body) {
        ObjectNode chat = NODES.objectNode();
        if (body.has("model")) chat.set("model", body.get("model"));
        JsonNode maxTokens = body.get("max_tokens");
        if (!RequestParser.present(maxTokens)) throw ApiException.badRequest("max_tokens", "max_tokens: Field required");
        chat.set("max_tokens", maxTokens);
        for (String same : List.of("temperature", "top_p", "top_k", "stream")) {
            if (RequestParser.present(body.get(same))) chat.set(same, body.get(same));
        }
        JsonNode temperature = body.get("temperature");
        if (RequestParser.present(temperature) && temperature.isNumber() && (temperature.asDouble() < 0 || temperature.asDouble() > 1)) {
            throw ApiException.badRequest("temperature", "temperature must be in [0, 1], got " + temperature);
        }
        JsonNode stops = body.get("stop_sequences");
        if (RequestParser.present(stops)) chat.set("stop", stops);
        checkUnsupported(body);

        ArrayNode messages = chat.putArray("messages");
        JsonNode system = body.get("system");
        if (RequestParser.present(system)) messages.addObject().put("role", "system").put("content", text(system, "system"));
        JsonNode in = body.get("messages");
        if (!RequestParser.present(in) || !in.isArray() || in.isEmpty()) {
            throw ApiException.badRequest("messages", "messages must be a non-empty array of {role, content}");
        }
        for (int i = 0; i < in.size(); i++) {
            JsonNode m = in.get(i);
            String param = "messages." + i;
            if (!m.isObject()) throw ApiException.badRequest(param, param + " must be an object");
            String role = m.path("role").asText("");
            switch (role) {
                case "user" -> user(m.get("content"), param, messages);
                case "assistant" -> {
                    if (i == in.size() - 1) {
                        throw ApiException.badRequest(param, "a final assistant message (a prefill for the model to continue) is not supported; "
                                + "end with a user message");
                    }
                    messages.add(assistant(m.get("content"), param));
                }
                default -> throw ApiException.badRequest(param + ".role", param + ".role must be 'user' or 'assistant', got " + m.get("role"));
            }
        }
        tools(body, chat);
        return chat;
    }

    private static void checkUnsupported(JsonNode body) {
        JsonNode thinking = body.get("thinking");
        if (RequestParser.present(thinking) && !"disabled".equals(thinking.path("type").asText())) {
            throw ApiException.badRequest("thinking", "thinking budgets are not supported: a reasoning model thinks as its chat template says, "
                    + "and its reasoning comes back as thinking blocks when the server runs with --reasoning-parser; remove thinking");
        }
        for (String field : List.of("mcp_servers", "container", "context_management")) {
            if (RequestParser.present(body.get(field))) throw ApiException.badRequest(field, field + " is not supported; remove it");
        }
        JsonNode metadata = body.get("metadata");
        if (RequestParser.present(metadata) && !metadata.isObject()) throw ApiException.badRequest("metadata", "metadata must be an object");
    }

    /** A user turn: its tool results as tool messages, then its text (if any) as a user message. */
    private static void user(JsonNode content, String param, ArrayNode out) {
        if (content != null && content.isTextual()) {
            out.addObject().put("role", "user").put("content", content.asText());
            return;
        }
        StringBuilder text = new StringBuilder();
        for (int b = 0; b < blocks(content, param).size(); b++) {
            JsonNode block = content.get(b);
            String where = param + ".content." + b;
            switch (block.path("type").asText("")) {
                case "text" -> append(text, blockText(block, where));
                case "tool_result" -> {
                    JsonNode id = block.get("tool_use_id");
                    if (id == null || !id.isTextual()) throw ApiException.badRequest(where + ".tool_use_id", "tool_result needs its tool_use_id");
                    JsonNode c = block.get("content");
                    String result = RequestParser.present(c) ? text(c, where + ".content") : "";
                    // The chat templates have no field for a failed call: say so in the result itself.
                    if (block.path("is_error").asBoolean(false)) result = "Error: " + result;
                    out.addObject().put("role", "tool").put("tool_call_id", id.asText()).put("content", result);
                }
                default -> throw unsupportedBlock(block, where);
            }
        }
        if (!text.isEmpty()) out.addObject().put("role", "user").put("content", text.toString());
    }

    private static ObjectNode assistant(JsonNode content, String param) {
        ObjectNode m = NODES.objectNode().put("role", "assistant");
        if (content != null && content.isTextual()) return m.put("content", content.asText());
        StringBuilder text = new StringBuilder();
        ArrayNode calls = NODES.arrayNode();
        for (int b = 0; b < blocks(content, param).size(); b++) {
            JsonNode block = content.get(b);
            String where = param + ".content." + b;
            switch (block.path("type").asText("")) {
                case "text" -> append(text, blockText(block, where));
                case "tool_use" -> {
                    if (!block.path("id").isTextual() || !block.path("name").isTextual() || !block.path("input").isObject()) {
                        throw ApiException.badRequest(where, "a tool_use block needs id, name and an input object");
                    }
                    ObjectNode call = calls.addObject().put("id", block.get("id").asText()).put("type", "function");
                    call.putObject("function").put("name", block.get("name").asText()).put("arguments", block.get("input").toString());
                }
                case "thinking", "redacted_thinking" -> {
                    // earlier reasoning is not shown to the model again
                }
                default -> throw unsupportedBlock(block, where);
            }
        }
        m.put("content", text.toString());
        if (!calls.isEmpty()) m.set("tool_calls", calls);
        return m;
    }

    private static JsonNode blocks(JsonNode content, String param) {
        if (content == null || !content.isArray()) {
            throw ApiException.badRequest(param + ".content", param + ".content must be a string or an array of content blocks");
        }
        for (int b = 0; b < content.size(); b++) {
            if (!content.get(b).isObject()) throw ApiException.badRequest(param + ".content." + b, "a content block must be an object");
        }
        return content;
    }

    private static ApiException unsupportedBlock(JsonNode block, String where) {
        return ApiException.badRequest(where + ".type", "content blocks of type " + block.get("type") + " are not supported here "
                + "(text, tool_use, tool_result and thinking are)");
    }

    /** A string, or an array of text blocks joined by newlines. */
    private static String text(JsonNode node, String param) {
        if (node.isTextual()) return node.asText();
        if (!node.isArray()) throw ApiException.badRequest(param, param + " must be a string or an array of text blocks");
        StringBuilder out = new StringBuilder();
        for (int b = 0; b < node.size(); b++) {
            JsonNode block = node.get(b);
            if (!block.isObject() || !"text".equals(block.path("type").asText())) {
                throw ApiException.badRequest(param + "." + b, "only text blocks are supported here, got " + block.get("type"));
            }
            append(out, blockText(block, param + "." + b));
        }
        return out.toString();
    }

    private static String blockText(JsonNode block, String where) {
        if (!block.path("text").isTextual()) throw ApiException.badRequest(where + ".text", "a text block needs its text");
        return block.get("text").asText();
    }

    private static void append(StringBuilder b, String text) {
        if (!b.isEmpty()) b.append('\n');
        b.append(text);
    }

    private static void tools(JsonNode body, ObjectNode chat) {
        JsonNode tools = body.get("tools");
        JsonNode choice = body.get("tool_choice");
        if (RequestParser.present(tools)) {
            if (!tools.isArray()) throw ApiException.badRequest("tools", "tools must be an array");
            ArrayNode out = chat.putArray("tools");
            for (int i = 0; i < tools.size(); i++) {
                JsonNode t = tools.get(i);
                String param = "tools." + i;
                String type = t.path("type").asText("custom");
                if (!type.equals("custom")) {
                    throw ApiException.badRequest(param + ".type", "server tools (" + type + ") are not supported; give custom tools "
                            + "{name, description, input_schema}");
                }
                if (!t.path("input_schema").isObject()) throw ApiException.badRequest(param + ".input_schema", "a tool needs its input_schema object");
                ObjectNode f = out.addObject().put("type", "function").putObject("function");
                f.set("name", t.get("name"));
                if (t.has("description")) f.set("description", t.get("description"));
                f.set("parameters", t.get("input_schema"));
            }
        }
        if (!RequestParser.present(choice)) return;
        if (!choice.isObject()) throw ApiException.badRequest("tool_choice", "tool_choice must be an object {type: auto|any|tool|none}");
        switch (choice.path("type").asText("")) {
            case "auto" -> chat.put("tool_choice", "auto");
            case "any" -> chat.put("tool_choice", "required");
            case "none" -> chat.put("tool_choice", "none");
            case "tool" -> {
                if (!choice.path("name").isTextual()) throw ApiException.badRequest("tool_choice.name", "tool_choice of type tool needs the tool's name");
                chat.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.get("name").asText());
            }
            default -> throw ApiException.badRequest("tool_choice.type", "tool_choice.type must be auto, any, tool or none, got " + choice.get("type"));
        }
        if (choice.path("disable_parallel_tool_use").asBoolean(false)) chat.put("parallel_tool_calls", false);
    }
}
