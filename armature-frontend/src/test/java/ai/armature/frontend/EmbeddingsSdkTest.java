package ai.armature.frontend;

import ai.armature.protocol.EmbeddingEngine;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** POST /v1/embeddings with the official OpenAI Java SDK, unchanged: every input form, float and base64, usage, refusals. */
class EmbeddingsSdkTest {

    static final String MODEL = "embedder";

    /** Embeds an input as the unit vector along (length, first id, 1). */
    static final class FakeEmbeddings implements EmbeddingEngine {
        @Override
        public float[][] embed(List<int[]> inputs) {
            float[][] out = new float[inputs.size()][];
            for (int i = 0; i < out.length; i++) {
                float a = inputs.get(i).length, b = inputs.get(i)[0], c = 1;
                float n = (float) Math.sqrt(a * a + b * b + c * c);
                out[i] = new float[] {a / n, b / n, c / n};
            }
            return out;
        }

        @Override
        public int dimensions() {
            return 3;
        }

        @Override
        public int maxInputTokens() {
            return 64;
        }

        @Override
        public void close() {
        }
    }

    /** What an embedding model's generation side does: refuse. */
    static final GenerationEngine REFUSING = new GenerationEngine() {
        @Override
        public GenerationStream submit(GenerateRequest request) {
            throw new RequestRejectedException(RequestRejectedException.Reason.INVALID, "'embedder' is an embedding model: use POST /v1/embeddings");
        }

        @Override
        public void cancel(String requestId) {
        }

        @Override
        public EngineStats stats() {
            return new EngineStats(0, 0, 0, 0, 0, 0, 0);
        }

        @Override
        public int maxContextTokens() {
            return 64;
        }

        @Override
        public void close() {
        }
    };

    private static OpenAiServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        FrontendConfig config = FrontendConfig.defaults(MODEL).withHost("127.0.0.1").withPort(0).withApiKeys(Set.of("k"));
        server = OpenAiServer.forEmbeddings(config, new FakeEmbeddings(), REFUSING, new ByteTokenizer(true), new ImChatTemplate());
        int port = server.start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/v1").apiKey("k").maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    @Test
    void everyInputFormAndUsage() {
        CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL).input("hello").build());
        assertThat(one.data()).hasSize(1);
        List<Float> v = one.data().getFirst().embedding();
        assertThat(v).hasSize(3);
        assertThat(v.get(0) * v.get(0) + v.get(1) * v.get(1) + v.get(2) * v.get(2)).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(one.usage().promptTokens()).isEqualTo(6); // BOS + 5 bytes
        assertThat(one.model()).isEqualTo(MODEL);

        CreateEmbeddingResponse many = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                .inputOfArrayOfStrings(List.of("a", "bcd")).build());
        assertThat(many.data()).extracting(e -> e.index()).containsExactly(0L, 1L);
        assertThat(many.usage().totalTokens()).isEqualTo(2 + 4);

        CreateEmbeddingResponse tokens = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                .inputOfArrayOfTokenArrays(List.of(List.of(5L, 6L), List.of(7L))).build());
        assertThat(tokens.data()).hasSize(2);
        assertThat(tokens.usage().promptTokens()).isEqualTo(3);
    }

    @Test
    void base64IsLittleEndianFloat32() {
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL).inputOfArrayOfTokens(List.of(9L, 9L))
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64).build());
        var value = r.data().getFirst().embeddingValue();
        float[] expected = new FakeEmbeddings().embed(List.of(new int[] {9, 9}))[0];
        List<Float> floats;
        if (value.isBase64()) {
            ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(value.asBase64())).order(ByteOrder.LITTLE_ENDIAN);
            floats = List.of(b.getFloat(), b.getFloat(), b.getFloat());
        } else {
            floats = value.asFloats(); // the SDK decoded it
        }
        assertThat(floats).containsExactly(expected[0], expected[1], expected[2]);
    }

    @Test
    void refusals() {
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL).input("x").dimensions(2).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("dimensions");
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL).input("x".repeat(100)).build()))
                .isInstanceOf(BadRequestException.class);
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("hi").build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("embedding model");
    }
}
