package ai.armature.engine.grammar;

import ai.armature.protocol.OutputConstraint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.math.BigDecimal;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON Schema (draft 2020-12 and the earlier drafts' common subset) into a {@link Grammar} whose every
 * sentence is a JSON text valid against the schema. Supported: {@code type} (one or a list), {@code enum},
 * {@code const}, {@code properties}, {@code required}, {@code additionalProperties}, {@code items},
 * {@code prefixItems}, {@code minItems}/{@code maxItems}, {@code minLength}/{@code maxLength}, {@code pattern},
 * {@code format} (date-time, date, time, uuid, ipv4, email), {@code minimum}/{@code maximum} and their exclusive
 * forms, {@code anyOf}, {@code oneOf} (when its alternatives cannot overlap), {@code allOf} with one schema,
 * {@code $ref} within the document ({@code #}, {@code #/$defs/...}, any JSON pointer; recursion included), and
 * boolean schemas. Annotations (title, description, default, examples, ...) are ignored; any other assertion
 * keyword is refused with a {@link GrammarException} naming it and where it is, never silently ignored.
 *
 * <p>Where the schema leaves freedom, the grammar generates a subset of the valid documents, as xgrammar and
 * llguidance do: properties in the schema's order; additional properties only when {@code additionalProperties}
 * is given explicitly (true or a schema), never reusing a declared name; array items beyond {@code prefixItems}
 * only when {@code items} is given; whitespace between tokens in runs of at most {@link #MAX_WHITESPACE}; bounded
 * numbers without exponents; strings at most {@link #MAX_GENERATED_LENGTH} characters when {@code maxLength} is
 * larger. Every output is still valid; none of these can make a satisfiable schema unsatisfiable.
 */
public final class JsonSchemaCompiler {

    /** Longest run of whitespace between two JSON tokens. */
    public static final int MAX_WHITESPACE = 12;
    /** Strings whose maxLength is larger are generated up to this many characters (unbounded ones are not cut). */
    public static final int MAX_GENERATED_LENGTH = 1024;
    private static final int MAX_DEPTH = 64;

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$comment",
            "$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary", "deprecated", "readOnly", "writeOnly",
            "contentMediaType", "contentEncoding", "$defs", "definitions", "discriminator", "nullable", "example",
            "externalDocs", "xml");
    private static final Set<String> UNSUPPORTED = Set.of("not", "if", "then", "else", "dependentSchemas",
            "dependentRequired", "dependencies", "patternProperties", "propertyNames", "unevaluatedProperties",
            "unevaluatedItems", "contains", "minContains", "maxContains", "minProperties", "maxProperties",
            "$dynamicRef", "$recursiveRef", "$recursiveAnchor", "contentSchema", "additionalItems");
    private static final Set<String> OBJECT_KEYWORDS = Set.of("properties", "required", "additionalProperties");
    private static final Set<String> ARRAY_KEYWORDS = Set.of("items", "prefixItems", "minItems", "maxItems", "uniqueItems");
    private static final Set<String> STRING_KEYWORDS = Set.of("minLength", "maxLength", "pattern", "format");
    private static final Set<String> NUMBER_KEYWORDS = Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf");
    private static final Set<String> STRUCTURE = Set.of("type", "enum", "const", "$ref", "anyOf", "oneOf", "allOf");

    private static final Map<String, String> FORMATS = Map.of(
            "date", "^" + Formats.DATE + "$",
            "time", "^" + Formats.TIME + "$",
            "date-time", "^" + Formats.DATE + "T" + Formats.TIME + "$",
            "uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            "ipv4", "^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$",
            "email", "^[A-Za-z0-9]+([._+-][A-Za-z0-9]+)*@[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)*\\.[A-Za-z]{2,}$");

    private final JsonNode root;
    private final Grammar.Builder builder = new Grammar.Builder();
    private final Map<String, Integer> refRules = new HashMap<>();
    private final Map<String, Integer> leafRules = new HashMap<>();
    private final Map<JsonNode, Integer> itemRules = new IdentityHashMap<>();
    private int anyValue = -1, anyObject, anyArray, anyString, anyNumber;
    private int depth;

    private JsonSchemaCompiler(JsonNode root) {
        this.root = root;
    }

    /** The grammar of documents valid against {@code schemaJson}. */
    public static Grammar compile(String schemaJson) {
        return compile(schemaJson, null);
    }

    /** As {@link #compile(String)}, after the model's reasoning when {@code reasoning} is not null. */
    public static Grammar compile(String schemaJson, OutputConstraint.Reasoning reasoning) {
        JsonNode node;
        try {
            node = JSON.readTree(schemaJson);
        } catch (JsonProcessingException e) {
            throw new GrammarException("the schema is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !(node.isObject() || node.isBoolean())) throw new GrammarException("the schema must be a JSON object");
        return compile(node, reasoning);
    }

    public static Grammar compile(JsonNode schema) {
        return compile(schema, null);
    }

    private static Grammar compile(JsonNode schema, OutputConstraint.Reasoning reasoning) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(schema);
        Node value = c.value(schema, "#");
        return c.finish(reasoning, value);
    }

    /** The grammar of any JSON object (OpenAI's {@code json_object} response format). */
    public static Grammar anyObject() {
        return anyObject(null);
    }

    /** As {@link #anyObject()}, after the model's reasoning when {@code reasoning} is not null. */
    public static Grammar anyObject(OutputConstraint.Reasoning reasoning) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(JSON.createObjectNode());
        c.ensureAny();
        return c.finish(reasoning, new Node.Call(c.anyObject));
    }

    private Grammar finish(OutputConstraint.Reasoning reasoning, Node value) {
        // One optional leading space: tokenizers that mark word starts with a space (SentencePiece) naturally begin
        // the reply with one, and a JSON text may start with whitespace.
        Node answer = Node.seq(Node.optional(Node.literal(" ")), value);
        int rootRule = builder.add("root", reasoning == null ? answer : Node.seq(reasoningPrefix(reasoning), answer));
        try {
            return builder.build(rootRule);
        } catch (IllegalStateException e) {
            throw new GrammarException("the schema cannot be compiled: " + e.getMessage());
        }
    }

    /**
     * The free text a reasoning model writes before its answer: anything up to the first {@code close} tag, then
     * whitespace. A reply that has not started inside its reasoning may open one with {@code open} or answer at
     * once. The reasoning is one embedded automaton (strings ending with the tag whose only occurrence of it is
     * that end), so its masks are computed per automaton state like every other part of the grammar.
     */
    private static Node reasoningPrefix(OutputConstraint.Reasoning r) {
        Node anyByte = Node.bytes(0, 255);
        Node close = Node.literal(r.close());
        Dfa endsWithClose = Dfa.of(Node.seq(Node.star(anyByte), close));
        Dfa closedEarlier = Dfa.of(Node.seq(Node.star(anyByte), close, Node.repeat(anyByte, 1, -1)));
        Node block = Node.seq(new Node.Embedded(endsWithClose.minus(closedEarlier)), ws());
        return r.started() ? block : Node.optional(Node.seq(ws(), Node.literal(r.open()), block));
    }

    // ---- generic JSON ----

    private static Node ws() {
        return Node.repeat(Node.alt(Node.literal(" "), Node.literal("\n"), Node.literal("\t"), Node.literal("\r")), 0, MAX_WHITESPACE);
    }

    private static Node sep(String c) {
        return Node.seq(ws(), Node.literal(c), ws());
    }

    private void ensureAny() {
        if (anyValue >= 0) return;
        anyValue = builder.declare("value");
        anyObject = builder.declare("object");
        anyArray = builder.declare("array");
        anyString = builder.add("string", JsonStrings.string(0, -1));
        anyNumber = builder.add("number", NumberGrammar.anyNumber(false));
        builder.define(anyValue, Node.alt(new Node.Call(anyObject), new Node.Call(anyArray), new Node.Call(anyString),
                new Node.Call(anyNumber), Node.literal("true"), Node.literal("false"), Node.literal("null")));
        Node member = Node.seq(new Node.Call(anyString), sep(":"), new Node.Call(anyValue));
        builder.define(anyObject, Node.seq(Node.literal("{"), ws(),
                Node.optional(Node.seq(member, Node.star(Node.seq(sep(","), member)), ws())), Node.literal("}")));
        Node element = new Node.Call(anyValue);
        builder.define(anyArray, Node.seq(Node.literal("["), ws(),
                Node.optional(Node.seq(element, Node.star(Node.seq(sep(","), element)), ws())), Node.literal("]")));
    }

    // ---- schemas ----

    private Node value(JsonNode schema, String path) {
        if (++depth > MAX_DEPTH) throw new GrammarException("the schema nests deeper than " + MAX_DEPTH + " levels at " + path);
        try {
            return valueAt(schema, path);
        } finally {
            depth--;
        }
    }

    private Node valueAt(JsonNode schema, String path) {
        if (schema.isBoolean()) {
            if (schema.asBoolean()) {
                ensureAny();
                return new Node.Call(anyValue);
            }
            throw new GrammarException("the schema at " + path + " is false: no value is valid");
        }
        if (!schema.isObject()) throw new GrammarException("the schema at " + path + " must be an object or a boolean");
        checkKeywords(schema, path);
        if (schema.has("$ref")) {
            requireOnly(schema, path, "$ref");
            return new Node.Call(refRule(schema.get("$ref"), path));
        }
        if (schema.has("allOf")) {
            requireOnly(schema, path, "allOf");
            JsonNode all = schema.get("allOf");
            if (!all.isArray() || all.size() != 1) {
                throw new GrammarException("allOf with " + (all.isArray() ? all.size() : 0) + " schemas at " + path
                        + " is not supported (only a single schema)");
            }
            return value(all.get(0), path + "/allOf/0");
        }
        if (schema.has("anyOf") || schema.has("oneOf")) {
            String kw = schema.has("anyOf") ? "anyOf" : "oneOf";
            requireOnly(schema, path, kw);
            JsonNode alts = schema.get(kw);
            if (!alts.isArray() || alts.isEmpty()) throw new GrammarException(kw + " at " + path + " must be a non-empty array");
            if (kw.equals("oneOf")) checkDisjoint(alts, path + "/oneOf");
            List<Node> options = new ArrayList<>();
            for (int i = 0; i < alts.size(); i++) options.add(value(alts.get(i), path + "/" + kw + "/" + i));
            return Node.alt(options);
        }
        if (schema.has("const") || schema.has("enum")) return literals(schema, path);
        List<String> types = types(schema, path);
        List<Node> options = new ArrayList<>();
        for (String t : types) options.add(typed(t, schema, path));
        return Node.alt(options);
    }

    private void checkKeywords(JsonNode schema, String path) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (UNSUPPORTED.contains(k)) {
                throw new GrammarException("the JSON Schema keyword '" + k + "' (at " + path + ") is not supported for structured output");
            }
        }
        JsonNode unique = schema.get("uniqueItems");
        if (unique != null && unique.asBoolean(false)) {
            throw new GrammarException("the JSON Schema keyword 'uniqueItems' (at " + path + ") is not supported for structured output");
        }
        JsonNode multiple = schema.get("multipleOf");
        if (multiple != null && !(multiple.isNumber() && multiple.decimalValue().compareTo(BigDecimal.ONE) == 0)) {
            throw new GrammarException("the JSON Schema keyword 'multipleOf' (at " + path + ") is not supported for structured output");
        }
        JsonNode format = schema.get("format");
        if (format != null && (!format.isTextual() || !FORMATS.containsKey(format.asText()))) {
            throw new GrammarException("the string format " + format + " (at " + path + ") is not supported for structured output; supported: "
                    + String.join(", ", new java.util.TreeSet<>(FORMATS.keySet())));
        }
    }

    /** Besides {@code keyword}, only annotations may appear (anything else would have to be intersected). */
    private static void requireOnly(JsonNode schema, String path, String keyword) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (k.equals(keyword) || ANNOTATIONS.contains(k)) continue;
            if (STRUCTURE.contains(k) || OBJECT_KEYWORDS.contains(k) || ARRAY_KEYWORDS.contains(k) || STRING_KEYWORDS.contains(k)
                    || NUMBER_KEYWORDS.contains(k)) {
                throw new GrammarException("the keyword '" + k + "' beside '" + keyword + "' (at " + path
                        + ") is not supported for structured output: move it into the " + keyword + " schema(s)");
            }
        }
    }

    private List<String> types(JsonNode schema, String path) {
        JsonNode type = schema.get("type");
        List<String> out = new ArrayList<>();
        if (type != null) {
            if (type.isTextual()) {
                out.add(type.asText());
            } else if (type.isArray() && !type.isEmpty()) {
                for (JsonNode t : type) {
                    if (!t.isTextual()) throw new GrammarException("'type' at " + path + " must be a string or an array of strings");
                    out.add(t.asText());
                }
            } else {
                throw new GrammarException("'type' at " + path + " must be a string or an array of strings");
            }
            for (String t : out) {
                if (!Set.of("object", "array", "string", "number", "integer", "boolean", "null").contains(t)) {
                    throw new GrammarException("unknown type '" + t + "' at " + path);
                }
            }
            if (out.contains("number") && out.contains("integer")) out.remove("integer");
            return out;
        }
        if (hasAny(schema, OBJECT_KEYWORDS)) out.add("object");
        if (hasAny(schema, ARRAY_KEYWORDS)) out.add("array");
        if (hasAny(schema, STRING_KEYWORDS)) out.add("string");
        if (hasAny(schema, NUMBER_KEYWORDS)) out.add("number");
        if (out.isEmpty()) out.addAll(List.of("object", "array", "string", "number", "boolean", "null"));
        return out;
    }

    private static boolean hasAny(JsonNode schema, Set<String> keys) {
        for (String k : keys) if (schema.has(k)) return true;
        return false;
    }

    private Node typed(String type, JsonNode schema, String path) {
        return switch (type) {
            case "object" -> object(schema, path);
            case "array" -> array(schema, path);
            case "string" -> new Node.Call(stringRule(schema, path));
            case "number", "integer" -> new Node.Call(numberRule(type.equals("integer"), schema, path));
            case "boolean" -> Node.alt(Node.literal("true"), Node.literal("false"));
            case "null" -> Node.literal("null");
            default -> throw new IllegalStateException(type);
        };
    }

    // ---- literals ----

    private Node literals(JsonNode schema, String path) {
        List<JsonNode> values = new ArrayList<>();
        if (schema.has("const")) values.add(schema.get("const"));
        if (schema.has("enum")) {
            JsonNode e = schema.get("enum");
            if (!e.isArray() || e.isEmpty()) throw new GrammarException("'enum' at " + path + " must be a non-empty array");
            if (schema.has("const")) {
                boolean found = false;
                for (JsonNode v : e) found |= v.equals(schema.get("const"));
                if (!found) throw new GrammarException("'const' at " + path + " is not among its 'enum' values: no value is valid");
            } else {
                e.forEach(values::add);
            }
        }
        List<Node> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (JsonNode v : values) {
            if (!SchemaChecks.allows(schema, v)) continue;
            String text;
            try {
                text = JSON.writeValueAsString(v);
            } catch (JsonProcessingException ex) {
                throw new GrammarException("cannot write enum value at " + path);
            }
            if (seen.add(text)) out.add(Node.literal(text));
        }
        if (out.isEmpty()) throw new GrammarException("no 'enum'/'const' value at " + path + " satisfies the schema's other keywords");
        return Node.alt(out);
    }

    // ---- objects ----

    private record Member(String name, JsonNode schema, boolean required) {
    }

    private Node object(JsonNode schema, String path) {
        Map<String, Member> members = new LinkedHashMap<>();
        JsonNode props = schema.get("properties");
        Set<String> required = new HashSet<>();
        JsonNode req = schema.get("required");
        if (req != null) {
            if (!req.isArray()) throw new GrammarException("'required' at " + path + " must be an array of strings");
            for (JsonNode r : req) {
                if (!r.isTextual()) throw new GrammarException("'required' at " + path + " must be an array of strings");
                required.add(r.asText());
            }
        }
        if (props != null) {
            if (!props.isObject()) throw new GrammarException("'properties' at " + path + " must be an object");
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                var e = it.next();
                members.put(e.getKey(), new Member(e.getKey(), e.getValue(), required.contains(e.getKey())));
            }
        }
        JsonNode additional = schema.get("additionalProperties");
        boolean additionalForbidden = additional != null && additional.isBoolean() && !additional.asBoolean();
        for (String r : required) {
            if (members.containsKey(r)) continue;
            if (additionalForbidden) {
                throw new GrammarException("property '" + r + "' is required at " + path + " but additionalProperties is false and it is not in 'properties'");
            }
            members.put(r, new Member(r, additional == null ? JSON.getNodeFactory().booleanNode(true) : additional, true));
        }
        List<Member> list = new ArrayList<>(members.values());
        List<Node> valueNodes = new ArrayList<>();
        for (Member m : list) {
            JsonNode s = m.schema;
            if (s.isBoolean() && !s.asBoolean()) {
                if (m.required) throw new GrammarException("property '" + m.name + "' at " + path + " is required but its schema is false");
                valueNodes.add(null); // never present
            } else {
                valueNodes.add(value(s, path + "/properties/" + pointerEscape(m.name)));
            }
        }
        Node extraMember = null;
        if (additional != null && !additionalForbidden) {
            Node extraValue = value(additional, path + "/additionalProperties");
            extraMember = Node.seq(otherKey(members.keySet()), sep(":"), extraValue);
        }
        Node finalExtra = extraMember;
        Node members0 = new Node.Graph(nfa -> buildMembers(nfa, list, valueNodes, finalExtra));
        return Node.seq(Node.literal("{"), ws(), members0, ws(), Node.literal("}"));
    }

    /**
     * Members in order: F[i] = before member i with none written yet, A[i] = before member i after some member.
     * Member i is built once and entered from F[i] directly or from A[i] after a comma; optional members may be
     * skipped from either. Extra members (additionalProperties) follow the declared ones.
     */
    private static Nfa.Frag buildMembers(Nfa nfa, List<Member> list, List<Node> values, Node extra) {
        int n = list.size();
        int[] f = new int[n + 1], a = new int[n + 1];
        for (int i = 0; i <= n; i++) {
            f[i] = nfa.newState();
            a[i] = nfa.newState();
        }
        for (int i = 0; i < n; i++) {
            Member m = list.get(i);
            if (values.get(i) != null) {
                Nfa.Frag member = nfa.build(Node.seq(Node.literal(quoted(m.name)), sep(":"), values.get(i)));
                nfa.epsilon(f[i], member.start());
                Nfa.Frag comma = nfa.build(sep(","));
                nfa.epsilon(a[i], comma.start());
                nfa.epsilon(comma.end(), member.start());
                nfa.epsilon(member.end(), a[i + 1]);
            }
            if (!m.required) {
                nfa.epsilon(f[i], f[i + 1]);
                nfa.epsilon(a[i], a[i + 1]);
            }
        }
        int end = nfa.newState();
        if (extra == null) {
            nfa.epsilon(f[n], end);
            nfa.epsilon(a[n], end);
        } else {
            // After a member: (, extra)*; before any: (extra (, extra)*)?
            int loop = nfa.newState();
            nfa.epsilon(a[n], loop);
            Nfa.Frag first = nfa.build(extra);
            nfa.epsilon(f[n], first.start());
            nfa.epsilon(first.end(), loop);
            nfa.epsilon(f[n], end);
            Nfa.Frag more = nfa.build(Node.seq(sep(","), extra));
            nfa.epsilon(loop, more.start());
            nfa.epsilon(more.end(), loop);
            nfa.epsilon(loop, end);
        }
        return new Nfa.Frag(f[0], end);
    }

    /** A key written without escapes that is none of {@code declared}. */
    private static Node otherKey(Set<String> declared) {
        Dfa any = Dfa.of(Node.seq(Node.literal("\""), Node.star(JsonStrings.PLAIN.utf8()), Node.literal("\"")));
        if (declared.isEmpty()) return new Node.Embedded(any);
        List<Node> names = new ArrayList<>();
        for (String d : declared) names.add(Node.literal("\"" + d + "\""));
        return new Node.Embedded(any.minus(Dfa.of(Node.alt(names))));
    }

    private static String quoted(String name) {
        try {
            return JSON.writeValueAsString(name);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pointerEscape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    // ---- arrays ----

    private Node array(JsonNode schema, String path) {
        List<Node> prefix = new ArrayList<>();
        JsonNode prefixItems = schema.get("prefixItems");
        if (prefixItems != null) {
            if (!prefixItems.isArray()) throw new GrammarException("'prefixItems' at " + path + " must be an array");
            for (int i = 0; i < prefixItems.size(); i++) prefix.add(value(prefixItems.get(i), path + "/prefixItems/" + i));
        }
        JsonNode items = schema.get("items");
        if (items != null && items.isArray()) {
            throw new GrammarException("'items' as an array (at " + path + ") is not supported: use 'prefixItems'");
        }
        boolean more = prefixItems == null ? items == null || !(items.isBoolean() && !items.asBoolean())
                : items != null && !(items.isBoolean() && !items.asBoolean());
        int min = nonNegative(schema, "minItems", 0, path);
        int max = schema.has("maxItems") ? nonNegative(schema, "maxItems", 0, path) : -1;
        int k = prefix.size();
        if (!more) max = max < 0 ? k : Math.min(max, k);
        if (max >= 0 && min > max) {
            throw new GrammarException("the array at " + path + " needs at least " + min + " items but allows at most " + max);
        }
        Node item = null;
        if (more) {
            JsonNode itemSchema = items == null ? JSON.getNodeFactory().booleanNode(true) : items;
            item = new Node.Call(itemRule(itemSchema, path + "/items"));
        }
        Node itemF = item;
        int minF = min, maxF = max;
        Node elements = new Node.Graph(nfa -> buildElements(nfa, prefix, itemF, minF, maxF));
        return Node.seq(Node.literal("["), ws(), elements, ws(), Node.literal("]"));
    }

    /** S[j] = after j elements; element j is prefix[j] or the item; end when min <= j <= max. */
    private static Nfa.Frag buildElements(Nfa nfa, List<Node> prefix, Node item, int min, int max) {
        int k = prefix.size();
        int last = max >= 0 ? max : Math.max(Math.max(k, min), 1);
        if (last > 100_000) throw new GrammarTooLargeException("arrays with more than 100000 required or bounded items are not supported");
        int start = nfa.newState(), end = nfa.newState();
        int cur = start;
        for (int j = 0; j <= last; j++) {
            if (j >= min) nfa.epsilon(cur, end);
            if (j == last) {
                if (max < 0) {
                    // Unbounded: loop on further items.
                    Nfa.Frag loop = nfa.build(Node.seq(sep(","), item));
                    nfa.epsilon(cur, loop.start());
                    nfa.epsilon(loop.end(), cur);
                }
                break;
            }
            Node element = j < k ? prefix.get(j) : item;
            Nfa.Frag e = nfa.build(j == 0 ? element : Node.seq(sep(","), element));
            nfa.epsilon(cur, e.start());
            cur = e.end();
        }
        return new Nfa.Frag(start, end);
    }

    private int itemRule(JsonNode schema, String path) {
        Integer r = itemRules.get(schema);
        if (r != null) return r;
        int rule = builder.declare("items " + path);
        itemRules.put(schema, rule);
        builder.define(rule, value(schema, path));
        return rule;
    }

    // ---- strings and numbers ----

    private int stringRule(JsonNode schema, String path) {
        int min = nonNegative(schema, "minLength", 0, path);
        int max = schema.has("maxLength") ? nonNegative(schema, "maxLength", 0, path) : -1;
        if (max >= 0 && min > max) throw new GrammarException("the string at " + path + " needs minLength " + min + " > maxLength " + max);
        if (min > MAX_GENERATED_LENGTH) {
            throw new GrammarException("minLength " + min + " at " + path + " is above " + MAX_GENERATED_LENGTH + ", the longest string structured output generates");
        }
        if (max > MAX_GENERATED_LENGTH) max = MAX_GENERATED_LENGTH;
        String pattern = schema.has("pattern") ? schema.get("pattern").asText() : null;
        if (schema.has("pattern") && !schema.get("pattern").isTextual()) throw new GrammarException("'pattern' at " + path + " must be a string");
        String format = schema.has("format") ? FORMATS.get(schema.get("format").asText()) : null;
        String key = min + "," + max + "," + pattern + "," + format;
        Integer cached = leafRules.get("s" + key);
        if (cached != null) return cached;
        Node content;
        if (pattern == null && format == null) {
            content = Node.repeat(JsonStrings.anyChar(), min, max);
        } else {
            Dfa d = null;
            for (String p : new String[] {pattern, format}) {
                if (p == null) continue;
                Dfa x = Dfa.of(Regex.compile(p));
                d = d == null ? x : d.intersect(x);
            }
            if (min > 0 || max >= 0) d = d.intersect(Dfa.of(Node.repeat(JsonStrings.anyChar(), min, max)));
            if (d.isEmpty()) throw new GrammarException("no string satisfies the pattern, format and length bounds at " + path);
            content = new Node.Embedded(d);
        }
        int rule = builder.add("string " + key, Node.seq(Node.literal("\""), content, Node.literal("\"")));
        leafRules.put("s" + key, rule);
        return rule;
    }

    private int numberRule(boolean integer, JsonNode schema, String path) {
        NumberGrammar.Bound lo = bound(schema, "minimum", "exclusiveMinimum", true, path);
        NumberGrammar.Bound hi = bound(schema, "maximum", "exclusiveMaximum", false, path);
        String key = (integer ? "i" : "n") + lo + hi;
        Integer cached = leafRules.get(key);
        if (cached != null) return cached;
        Node body = lo.value() == null && hi.value() == null ? NumberGrammar.anyNumber(integer)
                : NumberGrammar.range(integer, lo, hi, path);
        int rule = builder.add((integer ? "integer " : "number ") + key, body);
        leafRules.put(key, rule);
        return rule;
    }

    /** The tighter of the inclusive and exclusive bound (draft 4's boolean exclusive* form too). */
    private static NumberGrammar.Bound bound(JsonNode schema, String inclusive, String exclusive, boolean lower, String path) {
        BigDecimal v = null;
        boolean excl = false;
        JsonNode inc = schema.get(inclusive);
        if (inc != null) {
            if (!inc.isNumber()) throw new GrammarException("'" + inclusive + "' at " + path + " must be a number");
            v = inc.decimalValue();
        }
        JsonNode ex = schema.get(exclusive);
        if (ex != null) {
            if (ex.isBoolean()) {
                excl = ex.asBoolean() && v != null;
            } else if (ex.isNumber()) {
                BigDecimal e = ex.decimalValue();
                if (v == null || (lower ? e.compareTo(v) >= 0 : e.compareTo(v) <= 0)) {
                    v = e;
                    excl = true;
                }
            } else {
                throw new GrammarException("'" + exclusive + "' at " + path + " must be a number");
            }
        }
        return new NumberGrammar.Bound(v, excl);
    }

    private static int nonNegative(JsonNode schema, String key, int def, String path) {
        JsonNode v = schema.get(key);
        if (v == null) return def;
        if (!v.canConvertToInt() || !v.isIntegralNumber() && !(v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0) || v.asInt() < 0) {
            throw new GrammarException("'" + key + "' at " + path + " must be a non-negative integer");
        }
        return v.asInt();
    }

    // ---- references ----

    private int refRule(JsonNode ref, String path) {
        if (!ref.isTextual()) throw new GrammarException("'$ref' at " + path + " must be a string");
        String r = ref.asText();
        if (!r.startsWith("#")) {
            throw new GrammarException("'$ref' " + JsonQuote.quote(r) + " at " + path + " is not supported: only references within the schema (#/...) are");
        }
        Integer rule = refRules.get(r);
        if (rule != null) return rule;
        JsonNode target = resolve(r, path);
        rule = builder.declare("ref " + r);
        refRules.put(r, rule);
        builder.define(rule, value(target, r));
        return rule;
    }

    private JsonNode resolve(String ref, String path) {
        String pointer = URLDecoder.decode(ref.substring(1), StandardCharsets.UTF_8);
        if (pointer.isEmpty()) return root;
        if (!pointer.startsWith("/")) {
            throw new GrammarException("'$ref' " + JsonQuote.quote(ref) + " at " + path + " is not supported: use a JSON pointer (#/$defs/Name)");
        }
        JsonNode n = root;
        for (String part : pointer.substring(1).split("/", -1)) {
            String key = part.replace("~1", "/").replace("~0", "~");
            if (n.isArray()) {
                try {
                    n = n.get(Integer.parseInt(key));
                } catch (NumberFormatException e) {
                    n = null;
                }
            } else {
                n = n.get(key);
            }
            if (n == null) throw new GrammarException("'$ref' " + JsonQuote.quote(ref) + " at " + path + " points to nothing in the schema");
        }
        return n;
    }

    // ---- oneOf ----

    /** oneOf is compiled as anyOf, which is only right when no document can match two alternatives. */
    private void checkDisjoint(JsonNode alts, String path) {
        List<SchemaChecks.Shape> shapes = new ArrayList<>();
        for (JsonNode a : alts) shapes.add(SchemaChecks.shape(deref(a, 0)));
        for (int i = 0; i < shapes.size(); i++) {
            for (int j = i + 1; j < shapes.size(); j++) {
                if (!shapes.get(i).disjoint(shapes.get(j))) {
                    throw new GrammarException("oneOf at " + path + ": alternatives " + i + " and " + j
                            + " may both match one document, which structured output cannot rule out; use anyOf, or give them different types or a required property with distinct const values");
                }
            }
        }
    }

    private JsonNode deref(JsonNode s, int hops) {
        if (hops > 32 || s == null || !s.isObject() || !s.has("$ref") || !s.get("$ref").isTextual()) return s;
        String r = s.get("$ref").asText();
        if (!r.startsWith("#")) return s;
        return deref(resolve(r, "oneOf"), hops + 1);
    }
}
