package ai.armature.engine.grammar;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Token masks over a vocabulary: the matcher's mask equals the brute-force answer (a token is allowed exactly
 * when the text so far plus its bytes is a prefix of the language; end-of-generation exactly when the text is
 * complete), and random generation under the mask produces documents that a real validator accepts.
 */
class ConstrainedDecodingTest {

    static final List<String> SCHEMAS = List.of(
            "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150}},\"required\":[\"name\",\"age\"],\"additionalProperties\":false}",
            "{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"maxItems\":5}",
            "{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":4},\"minItems\":1,\"maxItems\":3},\"ok\":{\"type\":\"boolean\"}},\"required\":[\"tags\"]}",
            "{\"enum\":[\"red\",\"green\",\"blue\",null,42,{\"x\":[1,2]}]}",
            "{\"anyOf\":[{\"type\":\"string\",\"pattern\":\"^[a-z]{2,5}$\"},{\"type\":\"integer\",\"exclusiveMinimum\":-10,\"maximum\":10},{\"type\":\"null\"}]}",
            "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9},\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/n\"},{\"type\":\"null\"}]}},\"required\":[\"v\",\"next\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/n\"}",
            "{\"type\":\"object\",\"properties\":{\"when\":{\"type\":\"string\",\"format\":\"date\"},\"id\":{\"type\":\"string\",\"format\":\"uuid\"},\"score\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},\"required\":[\"when\",\"score\"],\"additionalProperties\":false}",
            "{\"type\":\"array\",\"prefixItems\":[{\"const\":\"point\"},{\"type\":\"number\"},{\"type\":\"number\"}],\"items\":false,\"minItems\":3}",
            "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"boolean\"},\"properties\":{\"a\":{\"type\":\"boolean\"}}}",
            "{\"type\":[\"string\",\"null\"],\"minLength\":1,\"maxLength\":6}",
            "{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"circle\"},\"r\":{\"type\":\"number\",\"exclusiveMinimum\":0}},\"required\":[\"kind\",\"r\"],\"additionalProperties\":false},{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"square\"},\"side\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"kind\",\"side\"],\"additionalProperties\":false}]}",
            "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"format\":\"email\"},\"at\":{\"type\":\"string\",\"format\":\"date-time\"}},\"required\":[\"email\",\"at\"],\"additionalProperties\":false}",
            "{\"type\":\"object\",\"properties\":{\"matrix\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"maxItems\":3},\"maxItems\":3}},\"required\":[\"matrix\"],\"additionalProperties\":false}",
            "{\"type\":\"string\",\"enum\":[\"é\",\"日本\",\"a\\\"b\",\"\\\\\"]}",
            "{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"string\",\"pattern\":\"^\\\\d{3}-\\\\d{4}$\"},\"q\":{\"type\":\"string\",\"minLength\":3}},\"required\":[\"p\",\"q\"],\"additionalProperties\":false}",
            "true",
            "{}");

    /** A vocabulary that stresses boundaries: every byte, JSON fragments that cross structure, UTF-8 pieces. */
    static TokenVocabulary vocabulary() {
        List<byte[]> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(new byte[] {(byte) b});
        String[] pieces = {"{\"", "\":", "\": ", "\",", "\", \"", "\"}", "\"]", "}]", "]}", "},{", "[{", "[\"", "\":\"", " \"",
                "\n  ", "\n", "  ", "true", "false", "null", "nul", "12", "123", "0.", ".5", "-1", "1e", "e+", "E-",
                "name", "age", "tags", "ok", "kind", "circle", "square", "side", "red", "green", "blue", "point", "when", "score",
                "email", "at", "matrix", "next", "\\n", "\\\"", "\\u00", "é", "日本", "ab", "bc", "abc", "@a.", ".com", "2024-",
                "-0", "T1", ":00Z", "\":{\"", "\":[", "\":null", ",\"", ", ", "v", "null}", "1}", "0]", "x\"", "\"x", "aa\"",
                "\":1", "\":\"a", "true,", "1,2", "3]", "\u00e9\"", "-12", "9.9", "0,", "\":0", "\"\"", "{}", "[]", "p", "q"};
        for (String p : pieces) tokens.add(p.getBytes(StandardCharsets.UTF_8));
        tokens.add(new byte[] {(byte) 0xE6, (byte) 0x97}); // a partial character
        tokens.add(new byte[] {(byte) 0xA5, '"'});
        tokens.add(new byte[0]); // a control token: never allowed
        byte[][] bytes = tokens.toArray(byte[][]::new);
        int eos = bytes.length;
        byte[][] withEos = java.util.Arrays.copyOf(bytes, bytes.length + 1);
        return TokenVocabulary.of(withEos, new int[] {eos});
    }

    @Test
    void masksEqualBruteForceAndOutputsValidate() {
        TokenVocabulary vocab = vocabulary();
        SplittableRandom r = new SplittableRandom(42);
        int validated = 0;
        for (String schema : SCHEMAS) {
            Grammar g = JsonSchemaCompiler.compile(schema);
            CompiledGrammar cg = new CompiledGrammar(g, vocab);
            cg.precompute();
            SchemaValidator validator = new SchemaValidator(schema);
            RandomWalker walker = new RandomWalker(cg, 0.5);
            for (int i = 0; i < 6; i++) {
                RandomWalker.Output out = walker.walk(r, 400, (prefix, mask) -> assertBruteForce(g, vocab, prefix, mask));
                if (out.complete()) {
                    assertThat(validator.errors(out.text())).as("schema %s output %s", schema, out.text()).isEmpty();
                    validated++;
                }
            }
        }
        assertThat(validated).isGreaterThan(SCHEMAS.size() * 4);
    }

    @Test
    void hundredsOfOutputsValidateAcrossSchemas() {
        TokenVocabulary vocab = vocabulary();
        SplittableRandom r = new SplittableRandom(7);
        int validated = 0;
        for (String schema : SCHEMAS) {
            CompiledGrammar cg = new CompiledGrammar(JsonSchemaCompiler.compile(schema), vocab);
            SchemaValidator validator = new SchemaValidator(schema);
            for (double bias : new double[] {0.3, 0.7}) {
                RandomWalker walker = new RandomWalker(cg, bias);
                for (int i = 0; i < 20; i++) {
                    RandomWalker.Output out = walker.walk(r, 600, null);
                    if (!out.complete()) {
                        // Cut off at the token limit: still a prefix of some valid document.
                        assertThat(cg.grammar().matchesPrefix(out.text().getBytes(StandardCharsets.UTF_8))).isTrue();
                        continue;
                    }
                    assertThat(validator.errors(out.text())).as("schema %s output %s", schema, out.text()).isEmpty();
                    validated++;
                }
            }
        }
        assertThat(validated).isGreaterThan(500);
    }

    @Test
    void anyJsonObject() {
        TokenVocabulary vocab = vocabulary();
        CompiledGrammar cg = new CompiledGrammar(JsonSchemaCompiler.anyObject(), vocab);
        SchemaValidator validator = new SchemaValidator("{\"type\":\"object\"}");
        SplittableRandom r = new SplittableRandom(5);
        Grammar g = cg.grammar();
        int validated = 0;
        for (int i = 0; i < 60; i++) {
            RandomWalker.Output out = new RandomWalker(cg, 0.6).walk(r, 300, i < 10 ? (p, m) -> assertBruteForce(g, vocab, p, m) : null);
            if (out.complete()) {
                assertThat(validator.errors(out.text())).as(out.text()).isEmpty();
                validated++;
            }
        }
        assertThat(validated).isGreaterThan(30);
    }

    static void assertBruteForce(Grammar g, TokenVocabulary vocab, byte[] prefix, long[] mask) {
        boolean complete = g.matches(prefix);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        for (int id = 0; id < vocab.size(); id++) {
            boolean expected;
            byte[] b = vocab.bytes(id);
            if (vocab.isEndOfGeneration(id)) {
                expected = complete;
            } else if (b == null || b.length == 0) {
                expected = false;
            } else {
                buf.reset();
                buf.writeBytes(prefix);
                buf.writeBytes(b);
                expected = g.matchesPrefix(buf.toByteArray());
            }
            boolean actual = (mask[id >>> 6] & (1L << id)) != 0;
            if (actual != expected) {
                throw new AssertionError("token " + id + " " + (b == null ? "" : new String(b, StandardCharsets.UTF_8)) + " after '"
                        + new String(prefix, StandardCharsets.UTF_8) + "': mask says " + actual + ", brute force " + expected);
            }
        }
    }
}
