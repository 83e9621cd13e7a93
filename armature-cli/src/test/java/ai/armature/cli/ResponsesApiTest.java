package ai.armature.cli;

import ai.armature.engine.chat.JinjaChatTemplate;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.frontend.ApiOptions;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ToolChoiceFunction;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code POST /v1/responses} with the official OpenAI Java SDK's {@code responses()}: scripted Qwen3 output becomes
 * reasoning, message and function_call items (streamed events accumulate to the same response), the call's output
 * continues the conversation through {@code previous_response_id}, stored responses are retrieved and deleted,
 * max_output_tokens gives an incomplete response; on the tiny random-weight model a forced function call's
 * arguments validate against its schema.
 */
class ResponsesApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static FunctionTool weatherTool() {
        return FunctionTool.builder().name("get_weather").description("Current weather for a city").strict(false)
                .parameters(FunctionTool.Parameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city"))).build()).build();
    }

    @Test
    void itemsStreamingPreviousResponseIdAndTheStore() throws Exception {
        try (ScriptedServer s = ScriptedServer.qwen3()) {
            OpenAIClient client = s.openAi();
            ResponseCreateParams ask = ResponseCreateParams.builder().model("m").instructions("You are helpful.")
                    .input("What is the weather in Paris?").addTool(weatherTool()).build();
            Response r = client.responses().create(ask);
            assertThat(r.status()).hasValue(ResponseStatus.COMPLETED);
            List<ResponseOutputItem> out = r.output();
            assertThat(out).hasSize(3);
            assertThat(out.get(0).asReasoning().content().orElseThrow().getFirst().text()).isEqualTo("\nI need the weather tool.\n");
            assertThat(out.get(1).asMessage().content().getFirst().asOutputText().text()).isEqualTo("Let me check.\n");
            ResponseFunctionToolCall call = out.get(2).asFunctionCall();
            assertThat(call.name()).isEqualTo("get_weather");
            assertThat(call.callId()).startsWith("call_");
            assertThat(JSON.readTree(call.arguments())).isEqualTo(JSON.readTree("{\"city\": \"Paris\"}"));
            var usage = r.usage().orElseThrow();
            assertThat(usage.outputTokensDetails().reasoningTokens()).isBetween(5L, usage.outputTokens() - 5);
            assertThat(usage.totalTokens()).isEqualTo(usage.inputTokens() + usage.outputTokens());

            // Streamed: the SDK's accumulator rebuilds the same items from the events.
            ResponseAccumulator acc = ResponseAccumulator.create();
            List<String> types = new ArrayList<>();
            try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(ask)) {
                stream.stream().forEach(e -> {
                    acc.accumulate(e);
                    types.add(JSON.valueToTree(e).path("type").asText());
                });
            }
            assertThat(types.getFirst()).isEqualTo("response.created");
            assertThat(types.getLast()).isEqualTo("response.completed");
            assertThat(types).contains("response.output_text.delta", "response.reasoning_text.delta", "response.function_call_arguments.delta",
                    "response.output_item.done");
            Response streamed = acc.response();
            assertThat(streamed.output()).hasSize(3);
            assertThat(streamed.output().get(1).asMessage().content().getFirst().asOutputText().text()).isEqualTo("Let me check.\n");
            assertThat(JSON.readTree(streamed.output().get(2).asFunctionCall().arguments())).isEqualTo(JSON.readTree(call.arguments()));

            // The call's output continues the stored conversation.
            Response answer = client.responses().create(ResponseCreateParams.builder().model("m").previousResponseId(r.id())
                    .inputOfResponse(List.of(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                            .callId(call.callId()).output("22 degrees").build())))
                    .addTool(weatherTool()).build());
            assertThat(answer.previousResponseId()).hasValue(r.id());
            assertThat(answer.output().getLast().asMessage().content().getFirst().asOutputText().text()).isEqualTo("It is 22 degrees in Paris.");

            // The store: retrieve, delete, unknown ids.
            assertThat(client.responses().retrieve(answer.id()).id()).isEqualTo(answer.id());
            client.responses().delete(answer.id());
            assertThatThrownBy(() -> client.responses().retrieve(answer.id())).isInstanceOf(NotFoundException.class);
            assertThatThrownBy(() -> client.responses().create(ResponseCreateParams.builder().model("m").previousResponseId("resp_missing")
                    .input("hi").build())).isInstanceOf(NotFoundException.class).hasMessageContaining("resp_missing");
            Response unstored = client.responses().create(ResponseCreateParams.builder().model("m").input("hi").store(false).build());
            assertThatThrownBy(() -> client.responses().retrieve(unstored.id())).isInstanceOf(NotFoundException.class);

            Response cut = client.responses().create(ResponseCreateParams.builder().model("m").input("hi").maxOutputTokens(3).build());
            assertThat(cut.status()).hasValue(ResponseStatus.INCOMPLETE);
            assertThat(cut.incompleteDetails().orElseThrow().reason().orElseThrow().asString()).isEqualTo("max_output_tokens");
            assertThat(cut.usage().orElseThrow().outputTokens()).isEqualTo(3);
        }
    }

    @Test
    void forcedFunctionCallOnTheTinyModelValidates() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":99}},"
                + "\"required\":[\"a\"],\"additionalProperties\":false}";
        @SuppressWarnings("unchecked")
        Map<String, Object> map = JSON.readValue(schema, Map.class);
        FunctionTool.Parameters.Builder p = FunctionTool.Parameters.builder();
        map.forEach((k, v) -> p.putAdditionalProperty(k, JsonValue.from(v)));
        try (TinyModelServer tiny = new TinyModelServer(dir)) {
            Response r = tiny.openAi.responses().create(ResponseCreateParams.builder().model("tiny").input("a number").temperature(0.0)
                    .maxOutputTokens(400).addTool(FunctionTool.builder().name("pick").strict(true).parameters(p.build()).build())
                    .toolChoice(ToolChoiceFunction.builder().name("pick").build()).build());
            assertThat(r.status()).hasValue(ResponseStatus.COMPLETED);
            ResponseFunctionToolCall call = r.output().getLast().asFunctionCall();
            assertThat(call.name()).isEqualTo("pick");
            var validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schema, InputFormat.JSON);
            assertThat(validator.validate(call.arguments(), InputFormat.JSON)).as(call.arguments()).isEmpty();
        }
    }
}
