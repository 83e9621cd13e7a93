package ai.armature.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Small checks on schemas the compiler needs besides grammar building: whether a literal ({@code enum} /
 * {@code const} value) satisfies a schema's other simple keywords, and a coarse shape of a schema (its possible
 * JSON types and literal values, and for objects the literal values of required properties) that proves two
 * {@code oneOf} alternatives cannot match the same document.
 */
final class SchemaChecks {

    private SchemaChecks() {
    }

    static String typeOf(JsonNode v) {
        if (v.isObject()) return "object";
        if (v.isArray()) return "array";
        if (v.isTextual()) return "string";
        if (v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0)) return "integer";
        if (v.isNumber()) return "number";
        if (v.isBoolean()) return "boolean";
        return "null";
    }

    /** Whether {@code v} passes {@code schema}'s type, string length/pattern and number bounds. */
    static boolean allows(JsonNode schema, JsonNode v) {
        JsonNode type = schema.get("type");
        if (type != null) {
            String t = typeOf(v);
            boolean ok = false;
            for (JsonNode x : type.isArray() ? type : java.util.List.of(type)) {
                String want = x.asText();
                ok |= want.equals(t) || (want.equals("number") && t.equals("integer"));
            }
            if (!ok) return false;
        }
        if (v.isTextual()) {
            int len = v.asText().codePointCount(0, v.asText().length());
            if (schema.has("minLength") && len < schema.get("minLength").asInt()) return false;
            if (schema.has("maxLength") && len > schema.get("maxLength").asInt()) return false;
            if (schema.has("pattern")) {
                try {
                    if (!java.util.regex.Pattern.compile(schema.get("pattern").asText()).matcher(v.asText()).find()) return false;
                } catch (RuntimeException e) {
                    return true; // the pattern itself is checked when its grammar is built
                }
            }
        }
        if (v.isNumber()) {
            BigDecimal d = v.decimalValue();
            if (schema.has("minimum") && d.compareTo(schema.get("minimum").decimalValue()) < 0) return false;
            if (schema.has("maximum") && d.compareTo(schema.get("maximum").decimalValue()) > 0) return false;
            JsonNode exMin = schema.get("exclusiveMinimum"), exMax = schema.get("exclusiveMaximum");
            if (exMin != null && exMin.isNumber() && d.compareTo(exMin.decimalValue()) <= 0) return false;
            if (exMax != null && exMax.isNumber() && d.compareTo(exMax.decimalValue()) >= 0) return false;
        }
        return true;
    }

    /** Possible types, literal values (null: any), and literal values of required object properties. */
    record Shape(Set<String> types, Set<JsonNode> literals, Map<String, Set<JsonNode>> requiredLiterals) {

        boolean disjoint(Shape o) {
            Set<String> common = new HashSet<>(types);
            // integer values are numbers too
            if (types.contains("number") && o.types.contains("integer")) common.add("integer");
            if (o.types.contains("number") && types.contains("integer")) common.add("number");
            common.retainAll(expand(o.types));
            if (common.isEmpty()) return true;
            if (literals != null && o.literals != null) {
                Set<JsonNode> both = new HashSet<>(literals);
                both.retainAll(o.literals);
                if (both.isEmpty()) return true;
            }
            if (common.equals(Set.of("object"))) {
                for (var e : requiredLiterals.entrySet()) {
                    Set<JsonNode> other = o.requiredLiterals.get(e.getKey());
                    if (other == null) continue;
                    Set<JsonNode> both = new HashSet<>(e.getValue());
                    both.retainAll(other);
                    if (both.isEmpty()) return true;
                }
            }
            return false;
        }

        private static Set<String> expand(Set<String> t) {
            Set<String> s = new HashSet<>(t);
            if (t.contains("number")) s.add("integer");
            return s;
        }
    }

    static Shape shape(JsonNode s) {
        Set<String> all = Set.of("object", "array", "string", "number", "integer", "boolean", "null");
        if (s == null || s.isBoolean() || !s.isObject()) return new Shape(all, null, Map.of());
        Set<JsonNode> literals = null;
        if (s.has("const")) literals = Set.of(s.get("const"));
        else if (s.has("enum") && s.get("enum").isArray()) {
            literals = new HashSet<>();
            for (JsonNode v : s.get("enum")) literals.add(v);
        }
        Set<String> types = new HashSet<>();
        if (literals != null) {
            for (JsonNode v : literals) types.add(typeOf(v));
        } else if (s.has("type")) {
            JsonNode t = s.get("type");
            for (JsonNode x : t.isArray() ? t : java.util.List.of(t)) types.add(x.asText());
        } else if (s.has("properties") || s.has("required") || s.has("additionalProperties")) {
            types.add("object");
        } else {
            types.addAll(all);
        }
        Map<String, Set<JsonNode>> req = new HashMap<>();
        JsonNode props = s.get("properties"), required = s.get("required");
        if (props != null && required != null && required.isArray()) {
            for (JsonNode r : required) {
                JsonNode p = props.get(r.asText());
                if (p == null || !p.isObject()) continue;
                if (p.has("const")) req.put(r.asText(), Set.of(p.get("const")));
                else if (p.has("enum") && p.get("enum").isArray()) {
                    Set<JsonNode> vs = new HashSet<>();
                    p.get("enum").forEach(vs::add);
                    req.put(r.asText(), vs);
                }
            }
        }
        return new Shape(types, literals, req);
    }
}
