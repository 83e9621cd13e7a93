package ai.armature.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * response_format through HTTP with the official OpenAI Java SDK on the tiny random-weight model (whose weights
 * would never write JSON by themselves): every choice that stops validates against its schema, and every choice cut
 * by the token limit is an honest prefix of a JSON document, streaming or not, with n > 1.
 */
class StructuredOutputEndToEndTest {

    private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":8},"
            + "\"temp\":{\"type\":\"integer\",\"minimum\":-40,\"maximum\":50},\"sunny\":{\"type\":\"boolean\"}},"
            + "\"required\":[\"city\",\"temp\",\"sunny\"],\"additionalProperties\":false}";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static TinyModelServer tiny;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        tiny = new TinyModelServer(dir);
        client = tiny.openAi;
    }

    @AfterAll
    static void stop() {
        tiny.close();
    }

    private static ResponseFormatJsonSchema weatherFormat() throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> map = JSON.readValue(SCHEMA, Map.class);
        ResponseFormatJsonSchema.JsonSchema.Schema.Builder sb = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
        map.forEach((k, v) -> sb.putAdditionalProperty(k, JsonValue.from(v)));
        return ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                .name("weather").schema(sb.build()).strict(true).build()).build();
    }

    private static ChatCompletionCreateParams.Builder weatherRequest(int n) throws IOException {
        return ChatCompletionCreateParams.builder().model("tiny").addUserMessage("weather as JSON").n(n).temperature(1.0)
                .maxCompletionTokens(120).responseFormat(weatherFormat());
    }

    /**
     * Checks one choice: "stop" must validate, "length" must be a prefix of some JSON text. Returns whether it stopped.
     * (The SDK's finish reasons are value objects: compare them with equals, never ==.)
     */
    private static boolean check(String text, String finish) throws IOException {
        if (finish.equals("length")) {
            assertThat(isJsonPrefix(text)).as("a length finish is an honest JSON prefix: %s", JSON.writeValueAsString(text)).isTrue();
            return false;
        }
        assertThat(finish).isEqualTo("stop");
        var validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(SCHEMA, InputFormat.JSON);
        assertThat(validator.validate(text, InputFormat.JSON)).as(text).isEmpty();
        return true;
    }

    /**
     * Whether {@code text} is a prefix of a JSON document: a parser reads it to the end and fails only for want of
     * more, once a literal or number cut at the very end (such as "tr" or "-4") is set aside.
     */
    static boolean isJsonPrefix(String text) throws IOException {
        if (readsToEnd(text)) return true;
        java.util.regex.Matcher tail = java.util.regex.Pattern.compile("[A-Za-z0-9.+-]+$").matcher(text);
        if (!tail.find()) return false;
        // A literal or number cut at the very end: complete it and read again.
        String t = tail.group();
        String done = null;
        for (String literal : new String[] {"true", "false", "null"}) if (literal.startsWith(t)) done = literal;
        if (done == null && t.matches("-?(0|[1-9][0-9]*)?(\\.[0-9]*)?([eE][+-]?[0-9]*)?")) {
            done = t.matches(".*[0-9]$") ? t : t + "0";
        }
        return done != null && readsToEnd(text.substring(0, tail.start()) + done);
    }

    /** Whether a parser reads {@code text} with no error but running out of input. */
    private static boolean readsToEnd(String text) throws IOException {
        try (JsonParser p = JSON.getFactory().createParser(text)) {
            while (p.nextToken() != null) {
                // read on
            }
            return true;
        } catch (JsonEOFException e) {
            return true;
        } catch (com.fasterxml.jackson.core.JsonParseException e) {
            return false;
        }
    }

    @Test
    void jsonSchemaChoicesValidate() throws Exception {
        int stopped = 0;
        for (int round = 0; round < 3; round++) {
            ChatCompletion c = client.chat().completions().create(weatherRequest(8).build());
            assertThat(c.choices()).hasSize(8);
            for (var choice : c.choices()) {
                if (check(choice.message().content().orElseThrow(), choice.finishReason().asString())) stopped++;
            }
        }
        assertThat(stopped).as("most of 24 choices end their object within 120 tokens").isGreaterThanOrEqualTo(16);
    }

    @Test
    void streamedChoicesValidate() throws Exception {
        StringBuilder[] texts = {new StringBuilder(), new StringBuilder(), new StringBuilder(), new StringBuilder()};
        String[] finish = new String[4];
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(weatherRequest(4).build())) {
            s.stream().forEach(chunk -> {
                for (var choice : chunk.choices()) {
                    choice.delta().content().ifPresent(texts[(int) choice.index()]::append);
                    choice.finishReason().ifPresent(f -> finish[(int) choice.index()] = f.asString());
                }
            });
        }
        for (int i = 0; i < 4; i++) {
            assertThat(finish[i]).as("choice %d finished", i).isNotNull();
            check(texts[i].toString(), finish[i]);
        }
    }

    @Test
    void maxTokensMidObjectIsLengthAndAPrefix() throws Exception {
        assertThat(isJsonPrefix("{\"a\" 1")).as("the prefix check can fail").isFalse();
        assertThat(isJsonPrefix("{\"a\":1}}")).isFalse();
        ChatCompletion c = client.chat().completions().create(weatherRequest(2).maxCompletionTokens(5).build());
        for (var choice : c.choices()) {
            assertThat(choice.finishReason().asString()).isEqualTo("length");
            assertThat(check(choice.message().content().orElseThrow(), "length")).isFalse();
        }
    }

    @Test
    void jsonObjectAndRefusals() throws Exception {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny").addUserMessage("json")
                .maxCompletionTokens(200).seed(3L).responseFormat(ResponseFormatJsonObject.builder().build()).build());
        var choice = c.choices().getFirst();
        String text = choice.message().content().orElseThrow();
        if (choice.finishReason().asString().equals("stop")) assertThat(JSON.readTree(text).isObject()).as(text).isTrue();
        else assertThat(isJsonPrefix(text)).as(text).isTrue();
        ResponseFormatJsonSchema.JsonSchema.Schema bad = ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                .putAdditionalProperty("type", JsonValue.from("object"))
                .putAdditionalProperty("patternProperties", JsonValue.from(Map.of("^x", Map.of()))).build();
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny").addUserMessage("x")
                .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("b").schema(bad).build()).build())
                .build())).isInstanceOf(BadRequestException.class).hasMessageContaining("patternProperties");
    }
}
