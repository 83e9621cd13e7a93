package ai.armature.engine.grammar;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The vocabulary-independent grammar: which texts a compiled schema accepts, checked against plain definitions. */
class GrammarTest {

    private static boolean accepts(Grammar g, String text) {
        return g.matches(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void objectsFollowPropertiesRequiredAndOrder() {
        Grammar g = JsonSchemaCompiler.compile("""
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
                 "required":["a"],"additionalProperties":false}""");
        assertThat(accepts(g, "{\"a\":1}")).isTrue();
        assertThat(accepts(g, "{\"a\": 1, \"b\": \"x\", \"c\": true}")).isTrue();
        assertThat(accepts(g, "{\"a\":1,\"c\":false}")).isTrue();
        assertThat(accepts(g, " {\n  \"a\": -12\n}")).isTrue();
        assertThat(accepts(g, "{}")).isFalse();
        assertThat(accepts(g, "{\"b\":\"x\"}")).isFalse();
        assertThat(accepts(g, "{\"a\":1,}")).isFalse();
        assertThat(accepts(g, "{\"a\":1.5}")).isFalse();
        assertThat(accepts(g, "{\"a\":1,\"d\":1}")).isFalse();
        assertThat(accepts(g, "{\"a\":01}")).isFalse();
        assertThat(g.matchesPrefix("{\"a\":1,\"b\":\"unfinished".getBytes(StandardCharsets.UTF_8))).isTrue();
    }

    @Test
    void allOptionalPropertiesAndExtras() {
        Grammar g = JsonSchemaCompiler.compile("""
                {"type":"object","properties":{"x":{"type":"null"},"y":{"enum":["p","q",3]}},"additionalProperties":{"type":"integer"}}""");
        assertThat(accepts(g, "{}")).isTrue();
        assertThat(accepts(g, "{\"y\":\"q\"}")).isTrue();
        assertThat(accepts(g, "{\"y\":3,\"z\":4}")).isTrue();
        assertThat(accepts(g, "{\"zz\":4,\"w\":5}")).isTrue();
        assertThat(accepts(g, "{\"x\":null,\"y\":\"p\"}")).isTrue();
        assertThat(accepts(g, "{\"y\":\"r\"}")).isFalse();
        assertThat(accepts(g, "{\"x\":null,\"x\":null}")).isFalse(); // an extra key never repeats a declared one
        assertThat(accepts(g, "{\"z\":\"s\"}")).isFalse();
    }

    @Test
    void arraysWithBoundsAndTuples() {
        Grammar g = JsonSchemaCompiler.compile("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":3}");
        assertThat(accepts(g, "[1,2]")).isTrue();
        assertThat(accepts(g, "[1, 2, 3]")).isTrue();
        assertThat(accepts(g, "[1]")).isFalse();
        assertThat(accepts(g, "[1,2,3,4]")).isFalse();
        Grammar t = JsonSchemaCompiler.compile("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"number\"}],\"items\":false}");
        assertThat(accepts(t, "[\"a\",1.5e3]")).isTrue();
        assertThat(accepts(t, "[\"a\"]")).isTrue();
        assertThat(accepts(t, "[]")).isTrue();
        assertThat(accepts(t, "[1,\"a\"]")).isFalse();
        assertThat(accepts(t, "[\"a\",1,2]")).isFalse();
        Grammar any = JsonSchemaCompiler.compile("{\"type\":\"array\"}");
        assertThat(accepts(any, "[{\"k\":[1,{\"z\":null}]},\"s\",true]")).isTrue();
    }

    @Test
    void stringsLengthsEscapesAndUtf8() {
        Grammar g = JsonSchemaCompiler.compile("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}");
        assertThat(accepts(g, "\"ab\"")).isTrue();
        assertThat(accepts(g, "\"a\\nb\"")).isTrue();
        assertThat(accepts(g, "\"é€😀\"")).isTrue();
        assertThat(accepts(g, "\"\\u00e9x\"")).isTrue();
        assertThat(accepts(g, "\"a\"")).isFalse();
        assertThat(accepts(g, "\"abcd\"")).isFalse();
        assertThat(accepts(g, "\"\\ud800x\"")).isFalse(); // lone surrogate escapes are never written
        assertThat(accepts(g, "\"a\nb\"")).isFalse(); // raw control characters are not JSON
        assertThat(g.matches(new byte[] {'"', (byte) 0xC3, '"'})).isFalse(); // invalid UTF-8
        assertThat(g.matches(new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, 'a', '"'})).isFalse(); // encoded surrogate
    }

    @Test
    void anyOfRefsAndRecursion() {
        Grammar g = JsonSchemaCompiler.compile("""
                {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},
                 "required":["v"],"additionalProperties":false}},"$ref":"#/$defs/node"}""");
        assertThat(accepts(g, "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":4,\"kids\":[]}]}]}")).isTrue();
        assertThat(accepts(g, "{\"v\":1,\"kids\":[{\"x\":2}]}")).isFalse();
        Grammar u = JsonSchemaCompiler.compile("{\"anyOf\":[{\"type\":\"string\",\"maxLength\":1},{\"type\":\"null\"},{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}]}");
        assertThat(accepts(u, "[[\"a\",null],[],\"b\"]")).isTrue();
        assertThat(accepts(u, "[\"ab\"]")).isFalse();
    }

    @Test
    void oneOfNeedsDisjointAlternatives() {
        Grammar g = JsonSchemaCompiler.compile("""
                {"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind"]},
                          {"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]},{"type":"string"}]}""");
        assertThat(accepts(g, "{\"kind\":\"a\",\"x\":1}")).isTrue();
        assertThat(accepts(g, "\"s\"")).isTrue();
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"string\",\"maxLength\":2}]}"))
                .isInstanceOf(GrammarException.class).hasMessageContaining("oneOf").hasMessageContaining("anyOf");
    }

    @Test
    void unsupportedKeywordsAreNamed() {
        for (String kw : List.of("not", "patternProperties", "if", "minProperties", "unevaluatedProperties", "contains")) {
            assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"type\":\"object\",\"properties\":{\"p\":{\"" + kw + "\":{}}}}"))
                    .isInstanceOf(GrammarException.class).hasMessageContaining("'" + kw + "'").hasMessageContaining("#/properties/p");
        }
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"type\":\"string\",\"format\":\"hostname-idn\"}"))
                .hasMessageContaining("format");
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"type\":\"integer\",\"multipleOf\":3}")).hasMessageContaining("multipleOf");
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"$ref\":\"http://example.com/s.json\"}")).hasMessageContaining("$ref");
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}")).hasMessageContaining("backreference");
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}")).hasMessageContaining("minimum");
        assertThatThrownBy(() -> JsonSchemaCompiler.compile("{\"type\":\"object\",\"properties\":{},\"required\":[\"q\"],\"additionalProperties\":false}"))
                .hasMessageContaining("'q'");
        // annotations and unknown keywords are ignored as validators ignore them
        assertThat(accepts(JsonSchemaCompiler.compile("{\"type\":\"boolean\",\"title\":\"t\",\"x-custom\":1,\"default\":true}"), "true")).isTrue();
    }

    @Test
    void formats() {
        Grammar g = JsonSchemaCompiler.compile("{\"type\":\"string\",\"format\":\"date-time\"}");
        assertThat(accepts(g, "\"2024-06-30T23:59:01.5+02:00\"")).isTrue();
        assertThat(accepts(g, "\"2024-02-30T00:00:00Z\"")).isFalse();
        assertThat(accepts(JsonSchemaCompiler.compile("{\"type\":\"string\",\"format\":\"uuid\"}"), "\"123e4567-e89b-12d3-a456-426614174000\"")).isTrue();
        assertThat(accepts(JsonSchemaCompiler.compile("{\"type\":\"string\",\"format\":\"ipv4\"}"), "\"256.1.1.1\"")).isFalse();
    }

    /** Bounded numbers: every candidate literal is accepted exactly when it is a JSON number inside the range. */
    @Test
    void numberRangesAreExact() {
        SplittableRandom r = new SplittableRandom(11);
        Pattern syntax = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?");
        Pattern full = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]{1,2})?"); // unbounded numbers may have exponents
        List<String> candidates = new ArrayList<>();
        for (int i = -130; i <= 130; i++) candidates.add(Integer.toString(i));
        for (int i = 0; i < 400; i++) {
            double v = (r.nextDouble() - 0.5) * 260;
            candidates.add(BigDecimal.valueOf(v).setScale(r.nextInt(4), java.math.RoundingMode.HALF_UP).toPlainString());
        }
        candidates.addAll(List.of("-0", "0.0", "0.000", "00", "1.", ".5", "-0.0", "7.10", "1e2", "12.500"));
        String[] bounds = {"-100", "-7.25", "-1", "0", "0.5", "3", "12.5", "99.99", "100"};
        for (int trial = 0; trial < 60; trial++) {
            boolean integer = r.nextInt(3) == 0;
            String lo = r.nextInt(4) == 0 ? null : bounds[r.nextInt(bounds.length)];
            String hi = r.nextInt(4) == 0 ? null : bounds[r.nextInt(bounds.length)];
            boolean loEx = r.nextBoolean(), hiEx = r.nextBoolean();
            if (lo != null && hi != null && new BigDecimal(lo).compareTo(new BigDecimal(hi)) >= 0) continue;
            StringBuilder s = new StringBuilder("{\"type\":\"" + (integer ? "integer" : "number") + "\"");
            if (lo != null) s.append(",\"").append(loEx ? "exclusiveMinimum" : "minimum").append("\":").append(lo);
            if (hi != null) s.append(",\"").append(hiEx ? "exclusiveMaximum" : "maximum").append("\":").append(hi);
            s.append('}');
            Grammar g;
            try {
                g = JsonSchemaCompiler.compile(s.toString());
            } catch (GrammarException e) {
                g = null; // an empty integer range: then no candidate may be inside it
            }
            for (String c : candidates) {
                boolean unbounded = lo == null && hi == null;
                boolean ok = (unbounded && !integer ? full : syntax).matcher(c).matches() && (!integer || !c.contains("."));
                if (ok) {
                    BigDecimal v = new BigDecimal(c);
                    if (lo != null) ok &= loEx ? v.compareTo(new BigDecimal(lo)) > 0 : v.compareTo(new BigDecimal(lo)) >= 0;
                    if (hi != null) ok &= hiEx ? v.compareTo(new BigDecimal(hi)) < 0 : v.compareTo(new BigDecimal(hi)) <= 0;
                    if (c.startsWith("-") && v.signum() == 0 && (lo != null || hi != null)) ok = false; // bounded: "-0" is never written
                }
                assertThat(g != null && accepts(g, c)).as("%s on %s", c, s).isEqualTo(ok);
            }
        }
    }

    /** Patterns: a string is accepted exactly when Java's regex (the same syntax for this subset) finds the pattern. */
    @Test
    void patternsMatchLikeARegexEngine() {
        String[] patterns = {"^[a-c]+$", "ab", "^a.c", "x{2,3}$", "^(ab|c)*d?$", "^\\d{3}-\\w+$", "[^abc]", "^$", "^a|b$",
                "^(?:x|yz){2}$", "^[\\s.]+$", "^\\u00e9+$", "^\"\\\\"};
        String alphabet = "abcdxyz-_. 1é\"\\\n";
        SplittableRandom r = new SplittableRandom(3);
        for (String p : patterns) {
            Grammar g = JsonSchemaCompiler.compile("{\"type\":\"string\",\"pattern\":" + JsonQuote.quote(p) + "}");
            Pattern java = Pattern.compile(p.replace("$", "\\z")); // ECMA's $ is the end of input only
            for (int i = 0; i < 300; i++) {
                StringBuilder s = new StringBuilder();
                int len = r.nextInt(7);
                for (int j = 0; j < len; j++) s.append(alphabet.charAt(r.nextInt(alphabet.length())));
                String text = s.toString();
                assertThat(accepts(g, JsonQuote.quote(text))).as("pattern %s on %s", p, text).isEqualTo(java.matcher(text).find());
            }
        }
    }
}
