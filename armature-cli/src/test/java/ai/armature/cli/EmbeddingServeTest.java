package ai.armature.cli;

import ai.armature.engine.demo.BertDemoModel;
import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.embedding.BertEncoder;
import ai.armature.engine.embedding.BertModel;
import ai.armature.engine.embedding.DecoderEmbedder;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.tensor.GgmlType;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.serving.worker.LoadedModel;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code armature serve} as an embedding server, as a separate process driven by the official OpenAI SDK: a decoder
 * model with {@code --embeddings} (last-token pooling) and a GGUF bert model. The vectors must equal what the
 * engine's embedders compute for the same token ids in this JVM; chat is refused; generation-only options are
 * refused rather than ignored.
 */
class EmbeddingServeTest {

    @TempDir
    Path dir;

    private static final List<String> TEXTS = List.of("hello world", "the quick brown fox", "a");

    @Test
    void aDecoderModelServesLastTokenEmbeddingsWithEmbeddingsFlag() throws Exception {
        Path file = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), file);
        float[][] expected;
        try (LoadedModel m = LoadedModel.open(file); DecoderEmbedder embedder = new DecoderEmbedder(m.model())) {
            expected = embedder.embed(encode(m.tokenizer()));
        }
        try (ArmatureProcess serve = ArmatureProcess.start(dir, "serve-decoder", "serve", "--model", file.toString(), "--embeddings",
                "--host", "127.0.0.1", "--port", "0")) {
            assertThat(serve.log()).contains("last-token pooling");
            checkServed(serve, "tiny", expected);
        }
    }

    @Test
    void aBertModelServesItsPoolingWithoutTheFlag() throws Exception {
        Path file = dir.resolve("bert.gguf");
        try (GgufFile vocab = GgufReader.open(bgeVocabulary())) {
            BertDemoModel.write(new BertDemoModel.Spec(64, 128, 2, 4, 64, 1, GgmlType.F32, 5), vocab.metadata(), file);
        }
        float[][] expected;
        try (GgufFile f = GgufReader.open(file)) {
            expected = new BertEncoder(BertModel.load(f)).embed(encode(Tokenizers.fromGguf(f.metadata())));
        }
        try (ArmatureProcess serve = ArmatureProcess.start(dir, "serve-bert", "serve", "--model", file.toString(),
                "--host", "127.0.0.1", "--port", "0")) {
            assertThat(serve.log()).contains("mean pooling");
            checkServed(serve, "bert", expected);
        }
    }

    @Test
    void generationOptionsAreRefusedInEmbeddingMode() throws Exception {
        Path file = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), file);
        for (String[] extra : List.of(new String[] {"--kv-cache-memory", "8MiB"}, new String[] {"--workers", "2"},
                new String[] {"--max-seqs", "4"}, new String[] {"--mock-profile", "h100-llama3-8b"})) {
            List<String> args = new ArrayList<>(List.of("serve", "--model", file.toString(), "--embeddings", "--port", "0"));
            args.addAll(List.of(extra));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertThat(run.exit()).as(String.join(" ", extra)).isNotZero();
            assertThat(run.err()).contains(extra[0] + " does not apply with --embeddings");
        }
        CliRun upstream = CliRun.of("serve", "--embeddings", "--upstream", "http://127.0.0.1:1", "--tokenizer", file.toString(), "--port", "0");
        assertThat(upstream.exit()).isNotZero();
        assertThat(upstream.err()).contains("--embeddings does not apply with --upstream");
    }

    private static List<int[]> encode(Tokenizer tok) {
        List<int[]> inputs = new ArrayList<>();
        for (String s : TEXTS) inputs.add(tok.encode(s, true, false));
        return inputs;
    }

    private static void checkServed(ArmatureProcess serve, String model, float[][] expected) {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(serve.url() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(120)).build();
        try {
            CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(model)
                    .inputOfArrayOfStrings(TEXTS).encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
            assertThat(r.data()).hasSize(TEXTS.size());
            for (int i = 0; i < TEXTS.size(); i++) {
                List<Float> got = r.data().get(i).embedding();
                assertThat(got).hasSize(expected[i].length);
                double norm = 0;
                for (int j = 0; j < got.size(); j++) {
                    assertThat(got.get(j)).as("input %d, dimension %d", i, j).isCloseTo(expected[i][j], org.assertj.core.data.Offset.offset(1e-5f));
                    norm += got.get(j) * got.get(j);
                }
                assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            }
            assertThat(r.usage().promptTokens()).isPositive();
            assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model(model)
                    .addUserMessage("hi").build()))
                    .isInstanceOf(BadRequestException.class).hasMessageContaining("/v1/embeddings");
        } finally {
            client.close();
        }
    }

    private static Path bgeVocabulary() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/fixtures/tokenizers/gguf/ggml-vocab-bert-bge.gguf");
            if (Files.exists(c)) return c;
        }
        Assumptions.abort("the bge vocabulary fixture (../shared/fixtures/tokenizers/gguf/ggml-vocab-bert-bge.gguf) is absent");
        return null;
    }
}
