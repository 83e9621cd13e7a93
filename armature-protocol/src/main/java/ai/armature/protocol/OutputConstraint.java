package ai.armature.protocol;

import java.util.Objects;

/**
 * A constraint on what a request may generate, as data that any worker (in this process or another, or an
 * upstream engine) can compile against its own vocabulary: {@code JSON_SCHEMA} with the schema's JSON text in
 * {@code spec}, or {@code JSON_OBJECT} (any JSON object; {@code spec} is empty). Workers cache compiled
 * constraints by this value, so equal constraints compile once.
 */
public record OutputConstraint(Kind kind, String spec) {

    public enum Kind { JSON_OBJECT, JSON_SCHEMA }

    public OutputConstraint {
        Objects.requireNonNull(kind, "kind");
        spec = spec == null ? "" : spec;
        if (kind == Kind.JSON_SCHEMA && spec.isBlank()) throw new IllegalArgumentException("a JSON_SCHEMA constraint needs the schema");
    }

    public static OutputConstraint jsonObject() {
        return new OutputConstraint(Kind.JSON_OBJECT, "");
    }

    public static OutputConstraint jsonSchema(String schemaJson) {
        return new OutputConstraint(Kind.JSON_SCHEMA, schemaJson);
    }

    @Override
    public String toString() {
        return kind == Kind.JSON_OBJECT ? "json_object" : "json_schema(" + spec.length() + " chars)";
    }
}
