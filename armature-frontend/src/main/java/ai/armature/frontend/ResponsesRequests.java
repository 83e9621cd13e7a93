package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * Turns an OpenAI Responses API request into the chat body the generation path serves: {@code instructions}
 * become the system message (of this turn only, as OpenAI defines it), {@code input} (text, or message,
 * {@code function_call} and {@code function_call_output} items) follows the stored conversation of
 * {@code previous_response_id}; {@code max_output_tokens}, {@code temperature}, {@code top_p}, function
 * {@code tools}, {@code tool_choice}, {@code parallel_tool_calls} and {@code text.format} (text, json_object,
 * json_schema) map to their chat equivalents. Reasoning items of earlier turns are dropped, as the common chat
 * templates drop earlier reasoning. What has no equivalent here (built-in tools, images and files, background
 * runs, conversations, reasoning effort, logprobs, automatic truncation) is a 400 naming it.
 */
final class ResponsesRequests {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The chat body, and the conversation so far (stored turns and this input, without instructions). */
    record Translated(ObjectNode chat, ArrayNode conversation) {
    }

    private ResponsesRequests() {
    }

    static Translated toChat(JsonNode body, ResponsesStore store) {
        checkUnsupported(body);
        ObjectNode chat = NODES.objectNode();
        if (body.has("model")) chat.set("model", body.get("model"));
        copy(body, "max_output_tokens", chat, "max_tokens");
        copy(body, "temperature", chat, "temperature");
        copy(body, "top_p", chat, "top_p");
        copy(body, "parallel_tool_calls", chat, "parallel_tool_calls");
        format(body.get("text"), chat);
        tools(body, chat);

        ArrayNode conversation = NODES.arrayNode();
        JsonNode previous = body.get("previous_response_id");
        if (RequestParser.present(previous)) {
            if (!previous.isTextual()) throw ApiException.badRequest("previous_response_id", "previous_response_id must be a string");
            ResponsesStore.Stored stored = store.get(previous.asText());
            if (stored == null) {
                throw ApiException.notFound("previous_response_id", "previous_response_not_found", "Previous response with id '"
                        + previous.asText() + "' not found: it was not stored (store: false), or has been dropped from this server's store");
            }
            conversation.addAll(stored.conversation().deepCopy());
        }
        input(body.get("input"), conversation);
        ArrayNode messages = chat.putArray("messages");
        JsonNode instructions = body.get("instructions");
        if (RequestParser.present(instructions)) {
            if (!instructions.isTextual()) throw ApiException.badRequest("instructions", "instructions must be a string");
            messages.addObject().put("role", "system").put("content", instructions.asText());
        }
        messages.addAll(conversation);
        return new Translated(chat, conversation);
    }

    private static void copy(JsonNode from, String name, ObjectNode to, String as) {
        if (RequestParser.present(from.get(name))) to.set(as, from.get(name));
    }

    private static void checkUnsupported(JsonNode body) {
        if (body.path("background").asBoolean(false)) throw ApiException.badRequest("background", "background responses are not supported");
        for (String field : List.of("conversation", "prompt", "top_logprobs", "max_tool_calls")) {
            if (RequestParser.present(body.get(field))) throw ApiException.badRequest(field, field + " is not supported; remove it");
        }
        JsonNode include = body.get("include");
        if (RequestParser.present(include) && !(include.isArray() && include.isEmpty())) {
            throw ApiException.badRequest("include", "include is not supported; remove it");
        }
        JsonNode reasoning = body.get("reasoning");
        if (RequestParser.present(reasoning) && (RequestParser.present(reasoning.get("effort")) || RequestParser.present(reasoning.get("summary")))) {
            throw ApiException.badRequest("reasoning", "reasoning effort and summaries are not supported: a reasoning model thinks as its chat "
                    + "template says, and its reasoning comes back as a reasoning item when the server runs with --reasoning-parser");
        }
        JsonNode truncation = body.get("truncation");
        if (RequestParser.present(truncation) && !"disabled".equals(truncation.asText())) {
            throw ApiException.badRequest("truncation", "only truncation 'disabled' is supported: a conversation longer than the context is a 400");
        }
        JsonNode metadata = body.get("metadata");
        if (RequestParser.present(metadata) && !metadata.isObject()) throw ApiException.badRequest("metadata", "metadata must be an object");
    }

    private static void format(JsonNode text, ObjectNode chat) {
        if (!RequestParser.present(text)) return;
        JsonNode format = text.get("format");
        if (!RequestParser.present(format)) return;
        switch (format.path("type").asText("")) {
            case "text" -> {
            }
            case "json_object" -> chat.putObject("response_format").put("type", "json_object");
            case "json_schema" -> {
                ObjectNode rf = chat.putObject("response_format").put("type", "json_schema");
                ObjectNode js = rf.putObject("json_schema");
                for (String k : List.of("name", "schema", "strict", "description")) if (format.has(k)) js.set(k, format.get(k));
            }
            default -> throw ApiException.badRequest("text.format.type", "text.format.type must be text, json_object or json_schema, got "
                    + format.get("type"));
        }
    }

    private static void tools(JsonNode body, ObjectNode chat) {
        JsonNode tools = body.get("tools");
        if (RequestParser.present(tools)) {
            if (!tools.isArray()) throw ApiException.badRequest("tools", "tools must be an array");
            ArrayNode out = chat.putArray("tools");
            for (int i = 0; i < tools.size(); i++) {
                JsonNode t = tools.get(i);
                if (!"function".equals(t.path("type").asText())) {
                    throw ApiException.badRequest("tools[" + i + "].type", "only function tools are supported, got " + t.get("type"));
                }
                ObjectNode f = out.addObject().put("type", "function").putObject("function");
                for (String k : List.of("name", "description", "parameters", "strict")) if (t.has(k)) f.set(k, t.get(k));
            }
        }
        JsonNode choice = body.get("tool_choice");
        if (!RequestParser.present(choice)) return;
        if (choice.isTextual()) {
            chat.set("tool_choice", choice);
        } else if (choice.isObject() && "function".equals(choice.path("type").asText()) && choice.path("name").isTextual()) {
            chat.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.get("name").asText());
        } else {
            throw ApiException.badRequest("tool_choice", "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"name\": ...}");
        }
    }

    /** Appends the chat messages of {@code input} (a string, or an array of items) to {@code out}. */
    private static void input(JsonNode input, ArrayNode out) {
        if (!RequestParser.present(input)) throw ApiException.badRequest("input", "input is required");
        if (input.isTextual()) {
            out.addObject().put("role", "user").put("content", input.asText());
            return;
        }
        if (!input.isArray() || input.isEmpty()) throw ApiException.badRequest("input", "input must be a string or a non-empty array of items");
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String param = "input[" + i + "]";
            if (!item.isObject()) throw ApiException.badRequest(param, param + " must be an object");
            String type = item.path("type").asText(item.has("role") ? "message" : "");
            switch (type) {
                case "message" -> message(item, param, out);
                case "function_call" -> {
                    if (!item.path("call_id").isTextual() || !item.path("name").isTextual() || !item.path("arguments").isTextual()) {
                        throw ApiException.badRequest(param, "a function_call item needs call_id, name and arguments");
                    }
                    ObjectNode call = NODES.objectNode().put("id", item.get("call_id").asText()).put("type", "function");
                    call.putObject("function").put("name", item.get("name").asText()).put("arguments", item.get("arguments").asText());
                    assistantFor(out).withArray("tool_calls").add(call);
                }
                case "function_call_output" -> {
                    if (!item.path("call_id").isTextual()) throw ApiException.badRequest(param + ".call_id", "a function_call_output needs its call_id");
                    out.addObject().put("role", "tool").put("tool_call_id", item.get("call_id").asText())
                            .put("content", text(item.get("output"), param + ".output"));
                }
                case "reasoning" -> {
                    // earlier reasoning is not shown to the model again
                }
                default -> throw ApiException.badRequest(param + ".type", "input items of type '" + type + "' are not supported "
                        + "(message, function_call, function_call_output and reasoning are)");
            }
        }
    }

    /** The assistant message that function calls join: the last message when it is one, else a new empty one. */
    private static ObjectNode assistantFor(ArrayNode out) {
        if (!out.isEmpty() && "assistant".equals(out.get(out.size() - 1).path("role").asText())) return (ObjectNode) out.get(out.size() - 1);
        return out.addObject().put("role", "assistant").put("content", "");
    }

    private static void message(JsonNode item, String param, ArrayNode out) {
        String role = item.path("role").asText("");
        String chatRole = switch (role) {
            case "user", "assistant", "system" -> role;
            case "developer" -> "system";
            default -> throw ApiException.badRequest(param + ".role", "role must be user, assistant, system or developer, got " + item.get("role"));
        };
        out.addObject().put("role", chatRole).put("content", text(item.get("content"), param + ".content"));
    }

    /** A string, or content parts (input_text, output_text) joined by newlines. */
    private static String text(JsonNode content, String param) {
        if (content == null || content.isNull()) return "";
        if (content.isTextual()) return content.asText();
        if (!content.isArray()) throw ApiException.badRequest(param, param + " must be a string or an array of content parts");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            String type = part.path("type").asText("");
            if (!(type.equals("input_text") || type.equals("output_text")) || !part.path("text").isTextual()) {
                throw ApiException.badRequest(param + "[" + i + "]", "only input_text and output_text parts are supported, got " + part.get("type"));
            }
            if (!b.isEmpty()) b.append('\n');
            b.append(part.get("text").asText());
        }
        return b.toString();
    }
}
