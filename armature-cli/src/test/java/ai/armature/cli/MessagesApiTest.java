package ai.armature.cli;

import ai.armature.engine.chat.JinjaChatTemplate;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.frontend.ApiOptions;
import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.errors.BadRequestException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceTool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code POST /v1/messages} with the official Anthropic Java SDK: scripted Qwen3 output (reasoning, text and a
 * Hermes tool call) becomes thinking, text and tool_use blocks, streamed events accumulate to the same message, the
 * tool_result turn goes back through the template, stop sequences and max_tokens give their stop reasons; on the
 * tiny random-weight model a forced tool (tool_choice tool / any) is a tool_use whose input validates against its
 * input_schema; errors come in Anthropic's shape, and x-api-key authenticates.
 */
class MessagesApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADD = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":99},"
            + "\"b\":{\"type\":\"integer\",\"minimum\":-9,\"maximum\":9}},\"required\":[\"a\",\"b\"],\"additionalProperties\":false}";

    @TempDir
    Path dir;

    /** The SDK's client, closed by try-with-resources. */
    private record Anthropic(AnthropicClient client) implements AutoCloseable {
        @Override
        public void close() {
            client.close();
        }
    }

    private static Anthropic anthropic(String baseUrl, String key) {
        return new Anthropic(AnthropicOkHttpClient.builder().baseUrl(baseUrl).apiKey(key).maxRetries(0).timeout(Duration.ofSeconds(120)).build());
    }

    private static Tool weatherTool() {
        return Tool.builder().name("get_weather").description("Current weather for a city").inputSchema(Tool.InputSchema.builder()
                .properties(JsonValue.from(Map.of("city", Map.of("type", "string")))).required(List.of("city")).build()).build();
    }

    private static Tool addTool() throws Exception {
        JsonNode schema = JSON.readTree(ADD);
        Tool.InputSchema.Builder b = Tool.InputSchema.builder().properties(JsonValue.from(JSON.convertValue(schema.get("properties"), Map.class)))
                .required(List.of("a", "b"));
        b.putAdditionalProperty("additionalProperties", JsonValue.from(false));
        return Tool.builder().name("add").description("Adds two numbers").inputSchema(b.build()).build();
    }

    @Test
    void qwen3BlocksStreamingToolResultsAndStopReasons() throws Exception {
        try (ScriptedServer s = ScriptedServer.qwen3();
             Anthropic a = anthropic(s.baseUrl(), "unused")) {
            AnthropicClient client = a.client();
            MessageCreateParams ask = MessageCreateParams.builder().model("m").maxTokens(200).system("You are helpful.")
                    .addUserMessage("What is the weather in Paris?").addTool(weatherTool()).build();
            Message m = client.messages().create(ask);
            assertThat(m.stopReason()).hasValue(StopReason.TOOL_USE);
            List<ContentBlock> blocks = m.content();
            assertThat(blocks).hasSize(3);
            assertThat(blocks.get(0).asThinking().thinking()).isEqualTo("\nI need the weather tool.\n");
            assertThat(blocks.get(1).asText().text()).isEqualTo("Let me check.\n");
            ToolUseBlock call = blocks.get(2).asToolUse();
            assertThat(call.name()).isEqualTo("get_weather");
            assertThat(JSON.readTree(JSON.writeValueAsString(call._input()))).isEqualTo(JSON.readTree("{\"city\": \"Paris\"}"));
            assertThat(m.usage().inputTokens()).isGreaterThan(20);
            assertThat(m.usage().outputTokens()).isGreaterThan(10);

            // Streamed: the SDK's accumulator rebuilds the same blocks from the events.
            MessageAccumulator acc = MessageAccumulator.create();
            List<String> events = new ArrayList<>();
            try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(ask)) {
                stream.stream().forEach(e -> {
                    acc.accumulate(e);
                    events.add(e.isMessageStart() ? "message_start" : e.isContentBlockStart() ? "start" : e.isContentBlockDelta() ? "delta"
                            : e.isContentBlockStop() ? "stop" : e.isMessageDelta() ? "message_delta" : "message_stop");
                });
            }
            Message streamed = acc.message();
            assertThat(events.getFirst()).isEqualTo("message_start");
            assertThat(events.subList(events.size() - 2, events.size())).containsExactly("message_delta", "message_stop");
            assertThat(events.stream().filter("start"::equals).count()).isEqualTo(3);
            assertThat(events.stream().filter("delta"::equals).count()).as("text and input arrive in pieces").isGreaterThan(6);
            assertThat(streamed.stopReason()).hasValue(StopReason.TOOL_USE);
            assertThat(streamed.content().get(0).asThinking().thinking()).isEqualTo("\nI need the weather tool.\n");
            assertThat(streamed.content().get(1).asText().text()).isEqualTo("Let me check.\n");
            ToolUseBlock sc = streamed.content().get(2).asToolUse();
            assertThat(sc.name()).isEqualTo("get_weather");
            assertThat(JSON.readTree(JSON.writeValueAsString(sc._input()))).isEqualTo(JSON.readTree("{\"city\": \"Paris\"}"));
            assertThat(streamed.usage().outputTokens()).isEqualTo(m.usage().outputTokens());

            // The call and its result go back through the template; the model answers from it.
            Message answer = client.messages().create(MessageCreateParams.builder().model("m").maxTokens(200)
                    .addUserMessage("What is the weather in Paris?").addMessage(m)
                    .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
                            .toolUseId(call.id()).content("22 degrees").build())))
                    .addTool(weatherTool()).build());
            assertThat(answer.stopReason()).hasValue(StopReason.END_TURN);
            assertThat(answer.content().getLast().asText().text()).isEqualTo("It is 22 degrees in Paris.");

            // Stop sequences and max_tokens.
            Message stopped = client.messages().create(MessageCreateParams.builder().model("m").maxTokens(200).addUserMessage("Hi")
                    .stopSequences(List.of("STOP")).build());
            assertThat(stopped.stopReason()).hasValue(StopReason.STOP_SEQUENCE);
            assertThat(stopped.stopSequence()).hasValue("STOP");
            assertThat(stopped.content().getFirst().asText().text()).isEqualTo("Hello! Here ");
            Message cut = client.messages().create(MessageCreateParams.builder().model("m").maxTokens(3).addUserMessage("Hi").build());
            assertThat(cut.stopReason()).hasValue(StopReason.MAX_TOKENS);
            assertThat(cut.usage().outputTokens()).isEqualTo(3);
        }
    }

    @Test
    void forcedToolsOnTheTinyModelValidateAndErrorsHaveAnthropicsShape() throws Exception {
        try (TinyModelServer tiny = new TinyModelServer(dir, c -> c.withApiKeys(Set.of("secret")));
             Anthropic a = anthropic(tiny.baseUrl(), "secret")) {
            AnthropicClient client = a.client();
            var validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(ADD, InputFormat.JSON);
            int called = 0;
            for (int seed = 0; seed < 4; seed++) {
                // Greedy (the Messages API has no seed), so each prompt's output is fixed.
                MessageCreateParams.Builder ask = MessageCreateParams.builder().model("tiny").maxTokens(700).putAdditionalBodyProperty("temperature", JsonValue.from(0.0))
                        .addUserMessage("2 + 3? take " + seed).addTool(addTool());
                Message m = client.messages().create(seed % 2 == 0 ? ask.toolChoice(ToolChoiceTool.builder().name("add").build()).build()
                        : ask.toolChoice(com.anthropic.models.messages.ToolChoiceAny.builder().disableParallelToolUse(true).build()).build());
                if (m.stopReason().orElseThrow().equals(StopReason.MAX_TOKENS)) continue;
                assertThat(m.stopReason()).hasValue(StopReason.TOOL_USE);
                assertThat(m.content()).hasSize(1);
                for (ContentBlock b : m.content()) {
                    ToolUseBlock call = b.asToolUse();
                    assertThat(call.name()).isEqualTo("add");
                    String input = JSON.writeValueAsString(call._input());
                    assertThat(validator.validate(input, InputFormat.JSON)).as(input).isEmpty();
                }
                called++;
            }
            assertThat(called).isGreaterThanOrEqualTo(2);

            assertThatThrownBy(() -> client.messages().create(MessageCreateParams.builder().model("tiny").maxTokens(10)
                    .addUserMessage("x").putAdditionalBodyProperty("temperature", JsonValue.from(1.5)).build())).isInstanceOf(BadRequestException.class).hasMessageContaining("temperature");
            try (Anthropic wrong = anthropic(tiny.baseUrl(), "wrong")) {
                assertThatThrownBy(() -> wrong.client().messages().create(MessageCreateParams.builder().model("tiny").maxTokens(10)
                        .addUserMessage("x").build())).isInstanceOf(UnauthorizedException.class);
            }
            HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(tiny.baseUrl() + "/v1/messages"))
                    .header("x-api-key", "secret").header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(400);
            JsonNode err = JSON.readTree(res.body());
            assertThat(err.path("type").asText()).isEqualTo("error");
            assertThat(err.path("error").path("type").asText()).isEqualTo("invalid_request_error");
            assertThat(err.path("error").path("message").asText()).contains("max_tokens");
        }
    }
}
