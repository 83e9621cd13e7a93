package ai.armature.protocol;

import java.util.Objects;

/**
 * A constraint on what a request may generate, as data that any worker (in this process or another, or an
 * upstream engine) can compile against its own vocabulary: {@code JSON_SCHEMA} with the schema's JSON text in
 * {@code spec}, or {@code JSON_OBJECT} (any JSON object; {@code spec} is empty). With {@code reasoning} the
 * constrained part starts after the model's reasoning (see {@link Reasoning}), as reasoning models think freely
 * before they answer; null constrains from the first token. Workers cache compiled constraints by this value, so
 * equal constraints compile once.
 */
public record OutputConstraint(Kind kind, String spec, Reasoning reasoning) {

    public enum Kind { JSON_OBJECT, JSON_SCHEMA }

    /**
     * Free text before the constrained part: the reasoning, which ends with {@code close}. When {@code started}
     * the reply begins inside the reasoning (the prompt opened it) and must close it; otherwise the reply may
     * open a reasoning block with {@code open} (after optional whitespace) or answer at once. The reasoning
     * itself may be anything that does not contain {@code close}.
     */
    public record Reasoning(String open, String close, boolean started) {
        public Reasoning {
            Objects.requireNonNull(open, "open");
            Objects.requireNonNull(close, "close");
            if (open.isEmpty() || close.isEmpty()) throw new IllegalArgumentException("the reasoning tags must not be empty");
        }
    }

    public OutputConstraint {
        Objects.requireNonNull(kind, "kind");
        spec = spec == null ? "" : spec;
        if (kind == Kind.JSON_SCHEMA && spec.isBlank()) throw new IllegalArgumentException("a JSON_SCHEMA constraint needs the schema");
    }

    public OutputConstraint(Kind kind, String spec) {
        this(kind, spec, null);
    }

    public static OutputConstraint jsonObject() {
        return new OutputConstraint(Kind.JSON_OBJECT, "");
    }

    public static OutputConstraint jsonSchema(String schemaJson) {
        return new OutputConstraint(Kind.JSON_SCHEMA, schemaJson);
    }

    /** This constraint, applied after the model's reasoning. */
    public OutputConstraint afterReasoning(Reasoning r) {
        return new OutputConstraint(kind, spec, r);
    }

    @Override
    public String toString() {
        String s = kind == Kind.JSON_OBJECT ? "json_object" : "json_schema(" + spec.length() + " chars)";
        return reasoning == null ? s : s + " after reasoning";
    }
}
