package ai.armature.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Structured output from a reasoning model (the scripted Qwen3 with the qwen3 reasoning parser, through the
 * official SDK): the model thinks freely, and only the answer after its reasoning is held to the schema, streamed
 * or not; with thinking disabled by the template the answer is constrained from the first token.
 */
class ReasoningStructuredOutputTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String REASONING = "\nThey want {JSON}, not prose: \"name\" then \"age\".\n";

    private static ResponseFormatJsonSchema person() {
        return ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("person")
                .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", properties())
                        .putAdditionalProperty("required", JsonValue.from(List.of("name", "age")))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false)).build())
                .strict(true).build()).build();
    }

    /** In this order: the grammar keeps the schema's property order. */
    private static JsonValue properties() {
        Map<String, Object> p = new java.util.LinkedHashMap<>();
        p.put("name", Map.of("type", "string"));
        p.put("age", Map.of("type", "integer"));
        return JsonValue.from(p);
    }

    private static ChatCompletionCreateParams.Builder ask() {
        return ChatCompletionCreateParams.builder().model("m").addUserMessage("Describe Ann as JSON.").maxCompletionTokens(200).responseFormat(person());
    }

    @Test
    void theReasoningIsFreeAndTheAnswerFollowsTheSchema() throws Exception {
        try (ScriptedServer s = ScriptedServer.qwen3()) {
            ChatCompletion c = s.openAi().chat().completions().create(ask().build());
            ChatCompletion.Choice choice = c.choices().getFirst();
            assertThat(choice.finishReason().asString()).isEqualTo("stop");
            assertThat(JSON.readTree(choice.message().content().orElseThrow())).isEqualTo(JSON.readTree("{\"name\": \"Ann\", \"age\": 7}"));
            assertThat(choice.message()._additionalProperties().get("reasoning_content").asStringOrThrow()).isEqualTo(REASONING);
            assertThat(c.usage().orElseThrow().completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow()).isPositive();

            StringBuilder content = new StringBuilder(), reasoning = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> stream = s.openAi().chat().completions().createStreaming(ask().build())) {
                stream.stream().forEach(chunk -> {
                    for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                        ch.delta().content().ifPresent(content::append);
                        JsonValue r = ch.delta()._additionalProperties().get("reasoning_content");
                        if (r != null) reasoning.append(r.asStringOrThrow());
                    }
                });
            }
            assertThat(JSON.readTree(content.toString())).isEqualTo(JSON.readTree("{\"name\": \"Ann\", \"age\": 7}"));
            assertThat(reasoning.toString()).isEqualTo(REASONING);
        }
    }

    @Test
    void withThinkingDisabledTheAnswerIsConstrainedFromTheFirstToken() throws Exception {
        try (ScriptedServer s = ScriptedServer.qwen3()) {
            ChatCompletion c = s.openAi().chat().completions().create(ask().maxCompletionTokens(40)
                    .putAdditionalBodyProperty("chat_template_kwargs", JsonValue.from(Map.of("enable_thinking", false))).build());
            ChatCompletion.Choice choice = c.choices().getFirst();
            String text = choice.message().content().orElseThrow();
            // The scripted "<think>" is not JSON, so the constraint replaced it from the first token on.
            assertThat(text).doesNotContain("think").startsWith("{");
            assertThat(choice.message()._additionalProperties().get("reasoning_content")).isNull();
            if (choice.finishReason().asString().equals("stop")) assertThat(JSON.readTree(text).has("name")).isTrue();
            else assertThat(choice.finishReason().asString()).isEqualTo("length");
        }
    }
}
