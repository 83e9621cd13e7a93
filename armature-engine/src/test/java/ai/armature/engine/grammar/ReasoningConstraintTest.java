package ai.armature.engine.grammar;

import ai.armature.protocol.OutputConstraint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Structured output after reasoning: the grammar lets a reasoning model think freely up to its closing tag and
 * constrains only the answer. Checked on fixed texts and on random constrained walks whose masks are compared with
 * brute force and whose answers (the text after the first closing tag) are validated by a real JSON Schema validator.
 */
class ReasoningConstraintTest {

    private static final OutputConstraint.Reasoning STARTED = new OutputConstraint.Reasoning("<think>", "</think>", true);
    private static final OutputConstraint.Reasoning MAY_OPEN = new OutputConstraint.Reasoning("<think>", "</think>", false);
    private static final String SCHEMA = """
            {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],
             "additionalProperties":false}""";

    private static boolean accepts(Grammar g, String text) {
        return g.matches(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aReplyThatStartsInsideItsReasoningMustCloseItBeforeTheAnswer() {
        Grammar g = JsonSchemaCompiler.compile(SCHEMA, STARTED);
        assertThat(accepts(g, "Let me think {\"name\": no} < / > </thin</think>\n\n{\"name\":\"a\",\"age\":3}")).isTrue();
        assertThat(accepts(g, "</think>{\"name\":\"a\",\"age\":3}")).isTrue();
        assertThat(accepts(g, "<think>x</think> {\"name\":\"a\",\"age\":3}")).isTrue();
        assertThat(accepts(g, "{\"name\":\"a\",\"age\":3}")).isFalse(); // never closed: all of it is reasoning
        assertThat(g.matchesPrefix("{\"name\":\"a\",\"age\":3}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(accepts(g, "x</think>{\"name\":\"a\"}")).isFalse(); // the answer must match the schema
        assertThat(accepts(g, "x</think>y</think>{\"name\":\"a\",\"age\":3}")).isFalse(); // the first tag ends the reasoning
        assertThat(accepts(g, "x</think>")).isFalse();
    }

    @Test
    void aReplyNotYetReasoningMayOpenAReasoningBlockOrAnswerAtOnce() {
        Grammar g = JsonSchemaCompiler.compile(SCHEMA, MAY_OPEN);
        assertThat(accepts(g, "{\"name\":\"a\",\"age\":3}")).isTrue();
        assertThat(accepts(g, "<think>\nhmm, {} is not it</think>\n{\"name\":\"a\",\"age\":3}")).isTrue();
        assertThat(accepts(g, "\n<think></think>{\"name\":\"a\",\"age\":3}")).isTrue();
        assertThat(accepts(g, "hmm</think>{\"name\":\"a\",\"age\":3}")).isFalse(); // reasoning needs the opening tag here
        assertThat(accepts(g, "<think>x</think>nothing")).isFalse();
        Grammar any = JsonSchemaCompiler.anyObject(MAY_OPEN);
        assertThat(accepts(any, "<think>x</think>{}")).isTrue();
        assertThat(accepts(any, "<think>x</think>[]")).isFalse();
    }

    @ParameterizedTest(name = "started={0}")
    @ValueSource(booleans = {true, false})
    void randomWalksHaveExactMasksAndValidAnswers(boolean started) {
        TokenVocabulary vocab = vocabulary();
        OutputConstraint.Reasoning reasoning = started ? STARTED : MAY_OPEN;
        CompiledGrammar cg = new CompiledGrammar(JsonSchemaCompiler.compile(SCHEMA, reasoning), vocab);
        Grammar g = cg.grammar();
        SchemaValidator validator = new SchemaValidator(SCHEMA);
        SplittableRandom r = new SplittableRandom(started ? 11 : 12);
        int validated = 0, reasoned = 0;
        for (int i = 0; i < 40; i++) {
            RandomWalker.StepCheck check = i < 6 ? (p, m) -> {
                if (p.length < 200) ConstrainedDecodingTest.assertBruteForce(g, vocab, p, m);
            } : null;
            RandomWalker.Output out = new RandomWalker(cg, 0.6, "think>").walk(r, 3000, check);
            if (!out.complete()) {
                assertThat(g.matchesPrefix(out.text().getBytes(StandardCharsets.UTF_8))).isTrue();
                continue;
            }
            String text = out.text();
            int close = text.indexOf(reasoning.close());
            String answer;
            if (close >= 0) {
                String before = text.substring(0, close);
                if (!started) assertThat(before.stripLeading()).startsWith(reasoning.open());
                answer = text.substring(close + reasoning.close().length());
                reasoned++;
            } else {
                assertThat(started).as("a started reply must close its reasoning: %s", text).isFalse();
                answer = text;
            }
            assertThat(validator.errors(answer)).as("answer %s of %s", answer, text).isEmpty();
            validated++;
        }
        assertThat(validated).isGreaterThan(20);
        assertThat(reasoned).isPositive();
    }

    /** The constrained-decoding test vocabulary plus the reasoning tags, whole and in pieces. */
    private static TokenVocabulary vocabulary() {
        TokenVocabulary base = ConstrainedDecodingTest.vocabulary();
        List<byte[]> tokens = new ArrayList<>();
        int eos = -1;
        for (int id = 0; id < base.size(); id++) {
            if (base.isEndOfGeneration(id)) eos = id;
            else tokens.add(base.bytes(id) == null ? new byte[0] : base.bytes(id));
        }
        for (String p : new String[] {"<think>", "</think>", "</", "think", ">", "<", "</think>\n\n", " hmm"}) {
            tokens.add(p.getBytes(StandardCharsets.UTF_8));
        }
        assertThat(eos).isNotNegative();
        tokens.add(null);
        byte[][] bytes = tokens.toArray(byte[][]::new);
        return TokenVocabulary.of(bytes, new int[] {bytes.length - 1});
    }
}
