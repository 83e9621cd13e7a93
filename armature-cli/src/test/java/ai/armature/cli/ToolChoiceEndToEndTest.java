package ai.armature.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * tool_choice "required" and named functions through HTTP with the official OpenAI Java SDK on the tiny
 * random-weight model, which would never call a tool by itself: constrained decoding makes every finished choice a
 * valid call whose arguments validate against the function's parameter schema (networknt), streaming or not, with
 * n > 1 and with parallel_tool_calls false; the SDK parses them, also into a Java class. The calls and their results
 * go back into the conversation. tool_choice auto on a model whose template shows no tool-call format is refused.
 */
class ToolChoiceEndToEndTest {

    private static final String WEATHER = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":8},"
            + "\"unit\":{\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":[\"city\",\"unit\"],\"additionalProperties\":false}";
    private static final String ADD = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":99},"
            + "\"b\":{\"type\":\"integer\",\"minimum\":-9,\"maximum\":9}},\"required\":[\"a\",\"b\"],\"additionalProperties\":false}";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static TinyModelServer tiny;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        // F32 weights: on quantized ones a token is scored on int8-quantized activations or in float depending on how
        // the scheduler batched its pass, so seeded samples, and how many of them finish a call within the budget,
        // varied from run to run (4 or 5 of 8 on Q8_0).
        tiny = new TinyModelServer(dir, c -> c, ai.armature.engine.tensor.GgmlType.F32);
        client = tiny.openAi;
    }

    @AfterAll
    static void stop() {
        tiny.close();
    }

    private static FunctionDefinition function(String name, String schema) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> map = JSON.readValue(schema, Map.class);
        FunctionParameters.Builder p = FunctionParameters.builder();
        map.forEach((k, v) -> p.putAdditionalProperty(k, JsonValue.from(v)));
        return FunctionDefinition.builder().name(name).description("a test function").parameters(p.build()).build();
    }

    /**
     * The tiny model's tokens are mostly single bytes and its random weights favour the grammar's optional whitespace
     * (up to 12 characters between JSON tokens), so a call takes a few hundred tokens; the context is 1024.
     */
    private static ChatCompletionCreateParams.Builder request(int n, int maxTokens) throws Exception {
        return ChatCompletionCreateParams.builder().model("tiny").addUserMessage("weather in Paris, and 2 + 3?").n(n).temperature(1.0).seed(11L)
                .maxCompletionTokens(maxTokens).addFunctionTool(function("get_weather", WEATHER)).addFunctionTool(function("add", ADD));
    }

    /** Checks that a call names one of the tools and its arguments validate against that tool's schema. */
    private static void checkCall(ChatCompletionMessageFunctionToolCall call) {
        assertThat(call.id()).startsWith("call_");
        String schema = switch (call.function().name()) {
            case "get_weather" -> WEATHER;
            case "add" -> ADD;
            default -> throw new AssertionError("a call of an unknown function: " + call.function().name());
        };
        var validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schema, InputFormat.JSON);
        assertThat(validator.validate(call.function().arguments(), InputFormat.JSON)).as(call.function().arguments()).isEmpty();
    }

    @Test
    void requiredChoicesAreValidCalls() throws Exception {
        int called = 0;
        int calls = 0;
        for (int round = 0; round < 2; round++) {
            ChatCompletion c = client.chat().completions().create(request(4, 900).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
            assertThat(c.choices()).hasSize(4);
            for (ChatCompletion.Choice choice : c.choices()) {
                if (choice.finishReason().asString().equals("length")) continue; // cut mid-call: nothing to check
                assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
                List<ChatCompletionMessageToolCall> toolCalls = choice.message().toolCalls().orElseThrow();
                assertThat(toolCalls).isNotEmpty();
                assertThat(choice.message().content()).isEmpty();
                for (ChatCompletionMessageToolCall t : toolCalls) checkCall(t.asFunction());
                called++;
                calls += toolCalls.size();
            }
        }
        assertThat(called).as("most of 8 choices finish their calls within 900 tokens").isGreaterThanOrEqualTo(5);
        assertThat(calls).isGreaterThanOrEqualTo(called);
    }

    @Test
    void parallelToolCallsFalseMakesOneCall() throws Exception {
        ChatCompletion c = client.chat().completions().create(request(6, 600).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                .parallelToolCalls(false).build());
        int called = 0;
        for (ChatCompletion.Choice choice : c.choices()) {
            if (choice.finishReason().asString().equals("length")) continue;
            List<ChatCompletionMessageToolCall> toolCalls = choice.message().toolCalls().orElseThrow();
            assertThat(toolCalls).hasSize(1);
            checkCall(toolCalls.getFirst().asFunction());
            called++;
        }
        assertThat(called).isGreaterThanOrEqualTo(3);
    }

    @Test
    void namedFunctionIsCalledAndParsesIntoAClass() throws Exception {
        ChatCompletion c = client.chat().completions().create(request(4, 400).toolChoice(ChatCompletionNamedToolChoice.builder()
                .function(ChatCompletionNamedToolChoice.Function.builder().name("add").build()).build()).build());
        int called = 0;
        for (ChatCompletion.Choice choice : c.choices()) {
            if (choice.finishReason().asString().equals("length")) continue;
            // A forced call of a named function ends with "stop", as OpenAI's does.
            assertThat(choice.finishReason().asString()).isEqualTo("stop");
            ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(choice.message().toolCalls().orElseThrow()).hasSize(1);
            assertThat(call.function().name()).isEqualTo("add");
            checkCall(call);
            Add parsed = call.function().arguments(Add.class);
            assertThat(parsed.a()).isBetween(0, 99);
            assertThat(parsed.b()).isBetween(-9, 9);
            called++;
        }
        assertThat(called).isGreaterThanOrEqualTo(2);
    }

    /** The arguments of {@code add}, as an application would parse them. */
    record Add(int a, int b) {
    }

    @Test
    void streamedCallsAccumulateToValidCalls() throws Exception {
        ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
        int toolDeltas = 0;
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(request(3, 900)
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build())) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) s.stream()::iterator) {
                acc.accumulate(chunk);
                for (ChatCompletionChunk.Choice ch : chunk.choices()) if (ch.delta().toolCalls().isPresent()) toolDeltas++;
            }
        }
        ChatCompletion c = acc.chatCompletion();
        int called = 0;
        for (ChatCompletion.Choice choice : c.choices()) {
            if (choice.finishReason().asString().equals("length")) continue;
            assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
            for (ChatCompletionMessageToolCall t : choice.message().toolCalls().orElseThrow()) checkCall(t.asFunction());
            called++;
        }
        assertThat(called).isGreaterThanOrEqualTo(1);
        assertThat(toolDeltas).as("names and argument fragments arrive as separate deltas").isGreaterThan(called * 2);
    }

    @Test
    void callsAndResultsGoBackIntoTheConversation() throws Exception {
        ChatCompletion first = client.chat().completions().create(request(1, 600).toolChoice(ChatCompletionNamedToolChoice.builder()
                .function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build()).build());
        ChatCompletion.Choice choice = first.choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("stop");
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        ChatCompletion next = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny")
                .addUserMessage("weather in Paris?").addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("22 degrees").build())
                .addFunctionTool(function("get_weather", WEATHER)).toolChoice(ChatCompletionToolChoiceOption.Auto.NONE)
                .maxCompletionTokens(4).build());
        assertThat(next.choices().getFirst().message().toolCalls()).isEmpty();
        assertThat(next.usage().orElseThrow().promptTokens()).isGreaterThan(first.usage().orElseThrow().promptTokens());
    }

    @Test
    void refusals() throws Exception {
        // The tiny model's ChatML template shows no tool-call format, so auto has nothing to parse.
        assertThatThrownBy(() -> client.chat().completions().create(request(1, 16).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("--tool-call-parser");
        assertThatThrownBy(() -> client.chat().completions().create(request(1, 16).toolChoice(ChatCompletionNamedToolChoice.builder()
                .function(ChatCompletionNamedToolChoice.Function.builder().name("missing").build()).build()).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("'missing'");
        assertThatThrownBy(() -> client.chat().completions().create(request(1, 16).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                .responseFormat(ResponseFormatJsonObject.builder().build()).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("response_format");
        FunctionDefinition unsupported = function("odd", "{\"type\":\"object\",\"patternProperties\":{\"^x\":{}}}");
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny").addUserMessage("x")
                .addFunctionTool(unsupported).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("patternProperties");
        JsonNode err = JSON.readTree(raw("{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name\"}}],\"tool_choice\":\"required\"}"));
        assertThat(err.path("error").path("param").asText()).isEqualTo("tools[0].function.name");
    }

    private static String raw(String body) throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        var res = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(tiny.baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).isEqualTo(400);
        return res.body();
    }
}
