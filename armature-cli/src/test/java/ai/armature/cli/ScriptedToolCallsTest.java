package ai.armature.cli;

import ai.armature.engine.chat.ChatTemplates;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.frontend.ApiOptions;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool-call and reasoning parsing of scripted model outputs (the scripted runner emits given tokens through the
 * real scheduler) behind the real frontend, read with the official OpenAI Java SDK: real tokenizers and chat
 * templates from the shared fixtures (Qwen3's; Llama 3's with --tool-call-parser llama3_json), calls streamed and
 * not, reasoning_content and reasoning_tokens, and the call's result sent back through the template.
 */
class ScriptedToolCallsTest {

    private static final Path FIXTURES = Path.of("../../shared/fixtures/tokenizers/hf");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static FunctionDefinition weatherTool() {
        return FunctionDefinition.builder().name("get_weather").description("Current weather for a city")
                .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city"))).build()).build();
    }

    @Test
    void qwen3HermesCallsAndReasoningThroughTheSdk() throws Exception {
        try (ScriptedServer s = ScriptedServer.qwen3()) {
            ChatCompletionCreateParams ask = ChatCompletionCreateParams.builder().model("m").addUserMessage("What is the weather in Paris?")
                    .addFunctionTool(weatherTool()).build();
            ChatCompletion c = s.openAi().chat().completions().create(ask);
            ChatCompletion.Choice choice = c.choices().getFirst();
            assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
            ChatCompletionMessage m = choice.message();
            assertThat(m.content()).hasValue("Let me check.\n");
            assertThat(m._additionalProperties().get("reasoning_content").asStringOrThrow()).isEqualTo("\nI need the weather tool.\n");
            ChatCompletionMessageFunctionToolCall call = m.toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(call.id()).startsWith("call_");
            assertThat(call.function().name()).isEqualTo("get_weather");
            assertThat(JSON.readTree(call.function().arguments())).isEqualTo(JSON.readTree("{\"city\": \"Paris\"}"));
            long reasoning = c.usage().orElseThrow().completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow();
            assertThat(reasoning).isBetween(5L, (long) c.usage().orElseThrow().completionTokens() - 5);

            // Streamed: the SDK's accumulator rebuilds the same message from the deltas.
            ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
            StringBuilder reasoningDeltas = new StringBuilder();
            int argumentChunks = 0;
            try (StreamResponse<ChatCompletionChunk> stream = s.openAi().chat().completions().createStreaming(ask)) {
                for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                    acc.accumulate(chunk);
                    for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                        JsonValue r = ch.delta()._additionalProperties().get("reasoning_content");
                        if (r != null) reasoningDeltas.append(r.asStringOrThrow());
                        if (ch.delta().toolCalls().isPresent()) argumentChunks++;
                    }
                }
            }
            ChatCompletion streamed = acc.chatCompletion();
            assertThat(streamed.choices().getFirst().finishReason().asString()).isEqualTo("tool_calls");
            assertThat(streamed.choices().getFirst().message().content()).hasValue("Let me check.\n");
            ChatCompletionMessageFunctionToolCall sc = streamed.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(sc.function().name()).isEqualTo("get_weather");
            assertThat(JSON.readTree(sc.function().arguments())).isEqualTo(JSON.readTree(call.function().arguments()));
            assertThat(argumentChunks).as("arguments arrive in several deltas").isGreaterThan(2);
            assertThat(reasoningDeltas.toString()).isEqualTo("\nI need the weather tool.\n");

            // The call and its result go back through the template; the model answers from it.
            ChatCompletion answer = s.openAi().chat().completions().create(ChatCompletionCreateParams.builder().model("m")
                    .addUserMessage("What is the weather in Paris?").addMessage(m)
                    .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("22 degrees").build())
                    .addFunctionTool(weatherTool()).build());
            assertThat(answer.choices().getFirst().finishReason().asString()).isEqualTo("stop");
            assertThat(answer.choices().getFirst().message().content()).hasValue("It is 22 degrees in Paris.");
            assertThat(answer.choices().getFirst().message().toolCalls()).isEmpty();

            // tool_choice none: the template shows no tools and nothing is parsed as a call.
            ChatCompletion none = s.openAi().chat().completions().create(ask.toBuilder().toolChoice(
                    com.openai.models.chat.completions.ChatCompletionToolChoiceOption.Auto.NONE).build());
            assertThat(none.choices().getFirst().message().toolCalls()).isEmpty();
            assertThat(none.choices().getFirst().message().content().orElseThrow()).contains("<tool_call>");
        }
    }

    @Test
    void llama3JsonCallsWithTheLlama3Tokenizer() throws Exception {
        Path dir = FIXTURES.resolve("llama3");
        Assumptions.assumeTrue(Files.exists(dir), "needs the Llama 3 tokenizer in ../shared/fixtures (see its README)");
        Tokenizer tok = Tokenizers.load(dir.resolve("tokenizer.json"));
        // The fixture's template is Llama 3.0's, which shows no tool format: the parser is named, as with --tool-call-parser.
        Function<String, String> reply = prompt -> "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}";
        try (ScriptedServer s = ScriptedServer.start(tok, ChatTemplates.load(dir), new ApiOptions("llama3_json", null), reply)) {
            ChatCompletion c = s.openAi().chat().completions().create(ChatCompletionCreateParams.builder().model("m")
                    .addUserMessage("Weather in Paris?").addFunctionTool(weatherTool()).build());
            assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo("tool_calls");
            assertThat(c.choices().getFirst().message().content()).isEmpty();
            ChatCompletionMessageFunctionToolCall call = c.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(call.function().name()).isEqualTo("get_weather");
            assertThat(JSON.readTree(call.function().arguments())).isEqualTo(JSON.readTree("{\"city\": \"Paris\"}"));
            assertThat(c.usage().orElseThrow().completionTokensDetails().orElseThrow().reasoningTokens()).hasValue(0L);
        }
    }
}
