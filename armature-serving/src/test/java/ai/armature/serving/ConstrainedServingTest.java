package ai.armature.serving;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.grammar.GrammarCompiler;
import ai.armature.engine.grammar.JsonSchemaCompiler;
import ai.armature.engine.grammar.TokenVocabulary;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.OutputConstraint;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.runner.LlamaModelRunner;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Structured output through a real worker: the tiny random-weight model (so any constraint bug shows) behind the
 * real scheduler, with many constrained requests of different schemas batched together; every finished output is
 * checked by a real JSON Schema validator (networknt).
 */
class ConstrainedServingTest {

    static final List<String> SCHEMAS = List.of(
            "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":6},\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120}},\"required\":[\"name\",\"age\"],\"additionalProperties\":false}",
            "{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":-9,\"maximum\":99},\"minItems\":1,\"maxItems\":4}",
            "{\"enum\":[\"yes\",\"no\",\"maybe\",true,null]}",
            "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\",\"c\"]},\"maxItems\":3},\"score\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},\"required\":[\"ok\",\"score\"],\"additionalProperties\":false}",
            "{\"anyOf\":[{\"type\":\"string\",\"pattern\":\"^[a-f0-9]{4}$\"},{\"type\":\"integer\",\"minimum\":1,\"maximum\":9}]}",
            "{\"type\":\"object\",\"properties\":{\"point\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\",\"minimum\":0,\"maximum\":9},{\"type\":\"integer\",\"minimum\":0,\"maximum\":9}],\"items\":false,\"minItems\":2},\"label\":{\"type\":[\"string\",\"null\"],\"maxLength\":3}},\"required\":[\"point\",\"label\"],\"additionalProperties\":false}",
            "{\"$defs\":{\"leaf\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":5}},\"required\":[\"v\"],\"additionalProperties\":false}},\"type\":\"object\",\"properties\":{\"left\":{\"$ref\":\"#/$defs/leaf\"},\"right\":{\"$ref\":\"#/$defs/leaf\"}},\"required\":[\"left\",\"right\"],\"additionalProperties\":false}",
            "{\"type\":\"string\",\"format\":\"date\"}",
            "{\"type\":\"boolean\"}",
            "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"circle\"},\"r\":{\"type\":\"integer\",\"exclusiveMinimum\":0,\"maximum\":50}},\"required\":[\"kind\",\"r\"],\"additionalProperties\":false}");

    @TempDir
    static Path dir;
    private static GgufFile file;
    private static LlamaModel model;
    private static Tokenizer tokenizer;
    private static GrammarCompiler grammars;
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    @BeforeAll
    static void load() throws Exception {
        Path path = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), path);
        file = GgufReader.open(path);
        model = LlamaModel.load(file);
        tokenizer = Tokenizers.fromGguf(file.metadata());
        grammars = new GrammarCompiler(TokenVocabulary.of(tokenizer, model.config().vocabSize()));
    }

    @AfterAll
    static void close() {
        file.close();
    }

    private static ServingEngine engine() {
        LlamaModelRunner runner = new LlamaModelRunner(model, "tiny", Harness.eos(tokenizer), KvDtype.F16);
        return new ServingEngine(runner, new ServingConfig(16, 256, 64, 4096L * runner.kvBytesPerToken(), 1000, KvDtype.F16), ai.armature.protocol.kv.KvEventPublisher.NONE, grammars);
    }

    private static SamplingParams sampled(long seed) {
        return new SamplingParams(1.0, 1.0, 0, 0, 1, 0, 0, seed, -1);
    }

    private static GenerateRequest request(String id, String schema, SamplingParams p, int maxTokens) {
        int[] prompt = tokenizer.encode("<|im_start|>user\nreply in JSON<|im_end|>\n<|im_start|>assistant\n", true, true);
        return new GenerateRequest(id, prompt, p, new StopConditions(maxTokens, null, false, false))
                .withConstraint(schema == null ? OutputConstraint.jsonObject() : OutputConstraint.jsonSchema(schema));
    }

    record Result(int[] tokens, FinishReason finish, String error) {
        String text() {
            return tokenizer.decode(tokens, false);
        }
    }

    private static Result drain(GenerationStream s) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        GenerateOutput last = null;
        for (GenerateOutput o; (o = s.next()) != null; ) {
            for (int t : o.tokenIds()) ids.add(t);
            last = o;
        }
        return new Result(ids.stream().mapToInt(Integer::intValue).toArray(), last.finishReason(), last.error());
    }

    @Test
    void hundredsOfBatchedConstrainedOutputsValidate() throws Exception {
        int validated = 0, cut = 0;
        try (ServingEngine engine = engine()) {
            List<GenerationStream> streams = new ArrayList<>();
            List<String> schemaOf = new ArrayList<>();
            int seed = 0;
            for (int round = 0; round < 14; round++) {
                for (String schema : SCHEMAS) {
                    streams.add(engine.submit(request("r" + seed, schema, sampled(seed), 160)));
                    schemaOf.add(schema);
                    seed++;
                }
            }
            for (int i = 0; i < streams.size(); i++) {
                Result r = drain(streams.get(i));
                String schema = schemaOf.get(i);
                assertThat(r.error()).isNull();
                if (r.finish() == FinishReason.LENGTH) {
                    assertThat(JsonSchemaCompiler.compile(schema).matchesPrefix(r.text().getBytes(StandardCharsets.UTF_8))).as(r.text()).isTrue();
                    cut++;
                    continue;
                }
                assertThat(r.finish()).isEqualTo(FinishReason.STOP);
                var errors = REGISTRY.getSchema(schema, InputFormat.JSON).validate(r.text(), InputFormat.JSON);
                assertThat(errors).as("schema %s, output %s", schema, r.text()).isEmpty();
                validated++;
            }
            assertThat(engine.stats().kvBlocksUsed()).isZero();
        }
        assertThat(validated).as("validated (cut at max_tokens: %d)", cut).isGreaterThanOrEqualTo(120);
    }

    @Test
    void maxTokensMidObjectEndsWithLengthAndAnHonestPrefix() throws Exception {
        String schema = SCHEMAS.getFirst();
        try (ServingEngine engine = engine()) {
            for (int seed = 0; seed < 6; seed++) {
                Result r = drain(engine.submit(request("cut" + seed, schema, sampled(seed), 4)));
                assertThat(r.finish()).isEqualTo(FinishReason.LENGTH);
                assertThat(r.tokens()).hasSize(4);
                assertThat(JsonSchemaCompiler.compile(schema).matchesPrefix(r.text().getBytes(StandardCharsets.UTF_8))).as(r.text()).isTrue();
            }
        }
    }

    @Test
    void jsonObjectGreedyAndUnconstrainedNeighboursUnaffected() throws Exception {
        int[] prompt = tokenizer.encode("hello there", true, false);
        GenerateRequest plain = new GenerateRequest("plain", prompt, SamplingParams.GREEDY, new StopConditions(20, null, true, false));
        int[] alone;
        try (ServingEngine engine = engine()) {
            alone = drain(engine.submit(plain)).tokens();
        }
        try (ServingEngine engine = engine()) {
            List<GenerationStream> constrained = new ArrayList<>();
            for (int i = 0; i < 6; i++) constrained.add(engine.submit(request("obj" + i, null, i == 0 ? SamplingParams.GREEDY : sampled(i), 300)));
            GenerationStream p = engine.submit(plain.withConstraint(null));
            assertThat(drain(p).tokens()).containsExactly(alone);
            for (GenerationStream s : constrained) {
                Result r = drain(s);
                if (r.finish() == FinishReason.STOP) {
                    assertThat(REGISTRY.getSchema("{\"type\":\"object\"}", InputFormat.JSON).validate(r.text(), InputFormat.JSON)).as(r.text()).isEmpty();
                }
            }
        }
    }

    @Test
    void unsupportedSchemasAreRefusedNamingTheKeyword() {
        try (ServingEngine engine = engine()) {
            assertThatThrownBy(() -> engine.submit(request("bad", "{\"type\":\"object\",\"patternProperties\":{\"^a\":{}}}", SamplingParams.GREEDY, 10)))
                    .isInstanceOf(RequestRejectedException.class).hasMessageContaining("'patternProperties'")
                    .extracting(e -> ((RequestRejectedException) e).reason()).isEqualTo(RequestRejectedException.Reason.INVALID);
        }
        LlamaModelRunner runner = new LlamaModelRunner(model, "tiny", Harness.eos(tokenizer), KvDtype.F16);
        try (ServingEngine noVocab = new ServingEngine(runner, new ServingConfig(16, 256, 8, 1024L * runner.kvBytesPerToken(), 10, KvDtype.F16))) {
            assertThatThrownBy(() -> noVocab.submit(request("x", null, SamplingParams.GREEDY, 10))).hasMessageContaining("tokenizer");
        }
    }

    @Test
    void theMockerHonoursConstraintsToo() throws Exception {
        MockProfile profile = MockProfile.parse("h100-llama3-8b,vocab_size=" + tokenizer.vocabSize() + ",eos_token_ids=" + Harness.eos(tokenizer)[0]);
        MockModelRunner runner = new MockModelRunner(profile, new ai.armature.serving.mock.SimClock());
        int validated = 0;
        try (ServingEngine engine = new ServingEngine(runner, new ServingConfig(16, 256, 64, null, 1000, KvDtype.F16), ai.armature.protocol.kv.KvEventPublisher.NONE, grammars)) {
            List<GenerationStream> streams = new ArrayList<>();
            for (int i = 0; i < 30; i++) streams.add(engine.submit(request("m" + i, SCHEMAS.get(i % SCHEMAS.size()), sampled(i), 200)));
            for (int i = 0; i < streams.size(); i++) {
                Result r = drain(streams.get(i));
                if (r.finish() != FinishReason.STOP) continue;
                String schema = SCHEMAS.get(i % SCHEMAS.size());
                assertThat(REGISTRY.getSchema(schema, InputFormat.JSON).validate(r.text(), InputFormat.JSON)).as(r.text()).isEmpty();
                validated++;
            }
        }
        assertThat(validated).isGreaterThan(15);
    }
}
