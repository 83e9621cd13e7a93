package ai.armature.frontend;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official OpenAI Java SDK against the server, unchanged: chat and completions, streaming and not, usage. */
class OpenAiSdkTest {

    private static TestServer s;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        s = new TestServer();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + s.port + "/v1").apiKey(TestServer.KEY)
                .maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    @AfterEach
    void nothingLeaks() throws Exception {
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(5))).isTrue();
        assertThat(s.server.awaitIdle(Duration.ofSeconds(5))).isTrue();
    }

    // "<s>" + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n": BOS, 2 markers, "user\nhi", 1 marker, 2 newlines, "assistant\n"
    private static final int CHAT_PROMPT_TOKENS = 1 + 1 + 7 + 1 + 1 + 1 + 10;

    @Test
    void chatCompletion() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(TestServer.MODEL).addUserMessage("hi").build());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().getFirst().message().content()).hasValue(FakeEngine.DEFAULT_REPLY);
        assertThat(c.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(c.model()).isEqualTo(TestServer.MODEL);
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(CHAT_PROMPT_TOKENS);
        assertThat(usage.completionTokens()).isEqualTo(FakeEngine.DEFAULT_REPLY.length());
        assertThat(usage.totalTokens()).isEqualTo(CHAT_PROMPT_TOKENS + FakeEngine.DEFAULT_REPLY.length());
        assertThat(usage.promptTokensDetails().flatMap(CompletionUsage.PromptTokensDetails::cachedTokens)).isPresent();
    }

    @Test
    void chatCompletionStreamingWithUsage() {
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                ChatCompletionCreateParams.builder().model(TestServer.MODEL).addSystemMessage("be brief").addUserMessage("hi")
                        .maxCompletionTokens(15).streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                        .build())) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
            });
        }
        assertThat(text.toString()).isEqualTo(FakeEngine.DEFAULT_REPLY.substring(0, 15));
        ChatCompletionChunk last = chunks.getLast();
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage().orElseThrow().completionTokens()).isEqualTo(15);
        ChatCompletionChunk.Choice.FinishReason finish = chunks.get(chunks.size() - 2).choices().getFirst().finishReason().orElseThrow();
        assertThat(finish).isEqualTo(ChatCompletionChunk.Choice.FinishReason.LENGTH);
    }

    @Test
    void completion() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(TestServer.MODEL)
                .prompt("Once upon").maxTokens(9).build());
        assertThat(c.choices().getFirst().text()).isEqualTo("The quick");
        assertThat(c.choices().getFirst().finishReason()).isEqualTo(CompletionChoice.FinishReason.LENGTH);
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(10);
        assertThat(usage.completionTokens()).isEqualTo(9);
    }

    @Test
    void completionStreamingWithStopAndUsage() {
        StringBuilder text = new StringBuilder();
        List<Completion> chunks = new ArrayList<>();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(CompletionCreateParams.builder()
                .model(TestServer.MODEL).prompt("Once upon").stop(" fox").maxTokens(64)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(ch -> text.append(ch.text()));
            });
        }
        assertThat(text.toString()).isEqualTo("The quick brown");
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason()).isEqualTo(CompletionChoice.FinishReason.STOP);
        assertThat(chunks.getLast().usage().orElseThrow().completionTokens()).isEqualTo("The quick brown fox".length());
    }

    @Test
    void modelsAndErrorsMapToSdkTypes() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly(TestServer.MODEL);
        assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder().model("nope").prompt("x").build()))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("nope");
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + s.port + "/v1").apiKey("bad")
                .maxRetries(0).build();
        try {
            assertThatThrownBy(() -> wrongKey.models().list()).isInstanceOf(UnauthorizedException.class);
        } finally {
            wrongKey.close();
        }
    }
}
