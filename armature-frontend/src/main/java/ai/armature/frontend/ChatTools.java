package ai.armature.frontend;

import ai.armature.frontend.tools.ForcedCallsParser;
import ai.armature.frontend.tools.ToolCallParser;
import ai.armature.protocol.OutputConstraint;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The function tools of a chat request and what {@code tool_choice} makes of them. {@code auto}: the tools go to
 * the chat template and the model's own tool-call format is parsed from its output. {@code none}: the model may
 * not call (the tools are not shown to it). {@code required} or a named function: the output is constrained so it
 * must be a call: for a named function its arguments, which must match the function's parameter schema; for
 * {@code required} an array of {@code {"name", "parameters"}} objects, one of the tools each (one call only when
 * {@code parallel_tool_calls} is false), as vLLM does.
 */
record ChatTools(List<Function> functions, List<Map<String, Object>> templateTools, Choice choice, String named, boolean parallel) {

    enum Choice { NONE, AUTO, REQUIRED, NAMED }

    /** One function tool: its name and parameter schema ({@code {"type": "object"}} when it declares none). */
    record Function(String name, JsonNode parameters) {
    }

    /** A request without tools. */
    static final ChatTools NONE = new ChatTools(List.of(), null, Choice.NONE, null, true);

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code tools}, {@code tool_choice} and {@code parallel_tool_calls} of an OpenAI chat request. */
    static ChatTools parse(JsonNode body) {
        if (RequestParser.present(body.get("functions")) || RequestParser.present(body.get("function_call"))) {
            throw ApiException.badRequest(RequestParser.present(body.get("functions")) ? "functions" : "function_call",
                    "functions and function_call are deprecated and not supported: use tools and tool_choice");
        }
        JsonNode toolsNode = body.get("tools");
        List<Function> functions = new ArrayList<>();
        List<Map<String, Object>> templateTools = new ArrayList<>();
        if (RequestParser.present(toolsNode)) {
            if (!toolsNode.isArray()) throw ApiException.badRequest("tools", "tools must be an array of tool objects");
            for (int i = 0; i < toolsNode.size(); i++) {
                JsonNode t = toolsNode.get(i);
                String param = "tools[" + i + "]";
                if (!t.isObject()) throw ApiException.badRequest(param, param + " must be an object");
                if (!"function".equals(t.path("type").asText())) {
                    throw ApiException.badRequest(param + ".type", "only tools of type 'function' are supported, got " + t.get("type"));
                }
                JsonNode f = t.get("function");
                if (f == null || !f.isObject()) throw ApiException.badRequest(param + ".function", param + ".function must be an object");
                String name = f.path("name").asText("");
                if (!f.path("name").isTextual() || !NAME.matcher(name).matches()) {
                    throw ApiException.badRequest(param + ".function.name", "a function name must be 1-64 letters, digits, '_', '.' or '-', got "
                            + f.get("name"));
                }
                for (Function other : functions) {
                    if (other.name().equals(name)) throw ApiException.badRequest("tools", "two tools are named '" + name + "'");
                }
                JsonNode params = f.get("parameters");
                if (RequestParser.present(params) && !params.isObject()) {
                    throw ApiException.badRequest(param + ".function.parameters", "parameters must be a JSON Schema object");
                }
                functions.add(new Function(name, RequestParser.present(params) ? params : NODES.objectNode().put("type", "object")));
                @SuppressWarnings("unchecked")
                Map<String, Object> m = JSON.convertValue(t, LinkedHashMap.class);
                templateTools.add(m);
            }
        }
        boolean parallel = RequestParser.bool(body, "parallel_tool_calls", true);
        JsonNode tc = body.get("tool_choice");
        Choice choice;
        String named = null;
        if (!RequestParser.present(tc)) {
            choice = functions.isEmpty() ? Choice.NONE : Choice.AUTO;
        } else if (tc.isTextual()) {
            choice = switch (tc.asText()) {
                case "none" -> Choice.NONE;
                case "auto" -> Choice.AUTO;
                case "required" -> Choice.REQUIRED;
                default -> throw ApiException.badRequest("tool_choice", "tool_choice must be 'none', 'auto', 'required' or "
                        + "{\"type\": \"function\", \"function\": {\"name\": ...}}, got '" + tc.asText() + "'");
            };
        } else if (tc.isObject() && "function".equals(tc.path("type").asText()) && tc.path("function").path("name").isTextual()) {
            choice = Choice.NAMED;
            named = tc.path("function").path("name").asText();
            String wanted = named;
            if (functions.stream().noneMatch(f -> f.name().equals(wanted))) {
                throw ApiException.badRequest("tool_choice", "tool_choice names the function '" + named + "', which is not among the tools");
            }
        } else {
            throw ApiException.badRequest("tool_choice", "tool_choice must be 'none', 'auto', 'required' or "
                    + "{\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        if (choice != Choice.NONE && functions.isEmpty()) {
            throw ApiException.badRequest("tool_choice", "tool_choice '" + choice.name().toLowerCase() + "' needs tools: give at least one");
        }
        return new ChatTools(List.copyOf(functions), choice == Choice.NONE ? null : List.copyOf(templateTools), choice, named, parallel);
    }

    /** Whether the output is parsed for calls. */
    boolean callsAllowed() {
        return choice != Choice.NONE;
    }

    /** The constraint that forces a call ({@code required} or named), or null. */
    OutputConstraint constraint() {
        return switch (choice) {
            case NONE, AUTO -> null;
            case NAMED -> OutputConstraint.jsonSchema(function(named).parameters().toString());
            case REQUIRED -> OutputConstraint.jsonSchema(requiredSchema().toString());
        };
    }

    /**
     * The parser of the output: a forced call's JSON, or under {@code auto} the model's own format
     * ({@code modelParser}, null when the model has none); null when no calls are parsed.
     */
    ToolCallParser parser(Supplier<ToolCallParser> modelParser) {
        return switch (choice) {
            case NONE -> null;
            case AUTO -> modelParser == null ? null : modelParser.get();
            case REQUIRED -> ForcedCallsParser.required();
            case NAMED -> ForcedCallsParser.named(named);
        };
    }

    private Function function(String name) {
        for (Function f : functions) if (f.name().equals(name)) return f;
        throw new IllegalStateException("no function " + name);
    }

    /**
     * {@code [{"name": <one of the tools>, "parameters": <its schema>}, ...]}: each tool's schema sits under
     * {@code $defs} with its own {@code $ref}s rewritten to point there, so references within a tool's schema keep
     * working once it is embedded.
     */
    private ObjectNode requiredSchema() {
        ObjectNode defs = NODES.objectNode();
        ArrayNode alternatives = NODES.arrayNode();
        for (int i = 0; i < functions.size(); i++) {
            Function f = functions.get(i);
            String key = "tool" + i;
            defs.set(key, rebase(f.parameters(), "#/$defs/" + key));
            ObjectNode call = NODES.objectNode().put("type", "object");
            ObjectNode props = call.putObject("properties");
            props.putObject("name").put("const", f.name());
            props.putObject("parameters").put("$ref", "#/$defs/" + key);
            call.putArray("required").add("name").add("parameters");
            call.put("additionalProperties", false);
            alternatives.add(call);
        }
        ObjectNode schema = NODES.objectNode().put("type", "array").put("minItems", 1);
        if (!parallel) schema.put("maxItems", 1);
        if (alternatives.size() == 1) schema.set("items", alternatives.get(0));
        else schema.putObject("items").set("anyOf", alternatives);
        schema.set("$defs", defs);
        return schema;
    }

    /**
     * A copy of {@code schema} whose local {@code $ref}s ("#...") point below {@code base}, without "$schema" and
     * "$id" (an embedded schema is not a document of its own). Values (const, enum, default, examples) are kept as
     * they are.
     */
    private static JsonNode rebase(JsonNode schema, String base) {
        if (schema.isObject()) {
            ObjectNode out = NODES.objectNode();
            schema.properties().forEach(e -> {
                String k = e.getKey();
                JsonNode v = e.getValue();
                if (k.equals("$schema") || k.equals("$id")) return;
                if (k.equals("const") || k.equals("enum") || k.equals("default") || k.equals("examples")) {
                    out.set(k, v); // values, not schemas
                } else if (k.equals("$ref") && v.isTextual() && v.asText().startsWith("#")) {
                    out.put(k, base + v.asText().substring(1));
                } else {
                    out.set(k, rebase(v, base));
                }
            });
            return out;
        }
        if (schema.isArray()) {
            ArrayNode out = NODES.arrayNode();
            for (JsonNode v : schema) out.add(rebase(v, base));
            return out;
        }
        return schema;
    }
}
