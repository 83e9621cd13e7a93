package ai.armature.frontend;

import ai.armature.protocol.OutputConstraint;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * OpenAI's {@code response_format}: {@code text} (no constraint), {@code json_object} (any JSON object) or
 * {@code json_schema} with {@code json_schema.schema} ({@code name}, {@code description} and {@code strict} are
 * accepted; the schema is always enforced, as with {@code strict: true}). The schema's keywords are checked by the
 * worker that compiles it against its vocabulary; one it does not support comes back as a 400 naming it.
 */
final class ResponseFormats {

    private ResponseFormats() {
    }

    /** The constraint {@code format} asks for, or null for none (absent or {@code text}). */
    static OutputConstraint constraint(JsonNode format) {
        if (!RequestParser.present(format)) return null;
        JsonNode type = format.get("type");
        if (!format.isObject() || type == null || !type.isTextual()) {
            throw ApiException.badRequest("response_format", "response_format must be an object with a string 'type'");
        }
        return switch (type.asText()) {
            case "text" -> null;
            case "json_object" -> OutputConstraint.jsonObject();
            case "json_schema" -> {
                JsonNode js = format.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badRequest("response_format", "response_format.json_schema must be an object with a 'schema'");
                }
                JsonNode strict = js.get("strict");
                if (RequestParser.present(strict) && !strict.isBoolean()) {
                    throw ApiException.badRequest("response_format", "response_format.json_schema.strict must be a boolean");
                }
                yield schema(js.get("schema"), "response_format.json_schema.schema");
            }
            default -> throw ApiException.badRequest("response_format", "unknown response_format type '" + type.asText()
                    + "' (use text, json_object or json_schema)");
        };
    }

    /** A JSON-schema constraint from a schema given in a request ({@code param} names it in errors). */
    static OutputConstraint schema(JsonNode schema, String param) {
        if (schema == null || !(schema.isObject() || schema.isBoolean())) {
            throw ApiException.badRequest("response_format", param + " must be a JSON Schema (an object or a boolean)");
        }
        return OutputConstraint.jsonSchema(schema.toString());
    }
}
