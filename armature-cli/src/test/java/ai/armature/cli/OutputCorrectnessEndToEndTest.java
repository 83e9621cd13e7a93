package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.SingleSequence;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.frontend.FrontendConfig;
import ai.armature.frontend.OpenAiServer;
import ai.armature.protocol.GenerationEngine;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end through the real worker: the worker owns end-of-generation, so {@code ignore_eos} and
 * {@code min_tokens} give exact lengths and usage counts only what the client got; and {@code armature run} on a
 * model with a SentencePiece vocabulary prints the completion as it reads after the prompt (first space kept).
 */
class OutputCorrectnessEndToEndTest {

    @TempDir
    static Path dir;

    @Test
    void ignoreEosAndMinTokensGiveExactLengthsAndUsageMatchesWhatWasSent() throws Exception {
        Path file = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), file);
        WorkerOptions options = new WorkerOptions();
        options.maxBatchedTokens = 64;
        options.maxSeqs = 8;
        options.kvCacheMemory = "8MiB";
        options.kvType = "f16";
        options.blockSize = 16;
        // A simulated model that ends every sequence at once unless told not to; fast steps so the test is quick.
        String profile = "h100-llama3-8b,eos_probability=1,weight_read_ms=0.01,step_overhead_ms=0.01,max_context=1024";
        try (LoadedModel model = LoadedModel.open(file);
             GenerationEngine engine = Workers.start(WorkerSpec.mock(model.modelTokenizer(), "tiny", options.config(1, 64),
                     MockProfile.parse(profile)), 1, null)) {
            OpenAiServer server = new OpenAiServer(FrontendConfig.defaults("tiny").withHost("127.0.0.1").withPort(0), engine,
                    model.tokenizer(), model.chatTemplate());
            int port = server.start();
            try (HttpClient http = HttpClient.newHttpClient()) {
                JsonNode plain = post(http, port, "{\"prompt\":\"hello\",\"max_tokens\":8,\"logprobs\":0}");
                assertThat(plain.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
                assertThat(plain.at("/usage/completion_tokens").asInt()).isZero();

                JsonNode ignore = post(http, port, "{\"prompt\":\"hello\",\"max_tokens\":8,\"ignore_eos\":true,\"logprobs\":0}");
                assertThat(ignore.at("/choices/0/finish_reason").asText()).isEqualTo("length");
                assertThat(ignore.at("/choices/0/logprobs/tokens")).hasSize(8);
                assertThat(ignore.at("/usage/completion_tokens").asInt()).isEqualTo(8);

                JsonNode min = post(http, port, "{\"prompt\":\"hello\",\"max_tokens\":8,\"min_tokens\":5,\"logprobs\":0}");
                assertThat(min.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
                assertThat(min.at("/choices/0/logprobs/tokens")).hasSize(5);
                assertThat(min.at("/usage/completion_tokens").asInt()).isEqualTo(5);

                // bench load's request shape: exactly max_tokens tokens.
                JsonNode bench = post(http, port, "{\"prompt\":\"hello\",\"max_tokens\":6,\"min_tokens\":6,\"ignore_eos\":true}");
                assertThat(bench.at("/usage/completion_tokens").asInt()).isEqualTo(6);
            } finally {
                server.close();
            }
        }
    }

    @Test
    void runPrintsASentencePieceCompletionWithItsFirstSpace() throws Exception {
        Path vocab = fixture("tokenizers/gguf/ggml-vocab-llama-spm.gguf");
        Path file = dir.resolve("spm.gguf");
        var tokenizerMetadata = Tokenizers.ggufMetadata(vocab);
        DemoModel.Spec tiny = DemoModel.Preset.TINY.spec();
        DemoModel.Spec spec = new DemoModel.Spec("spm", tiny.architecture(), tiny.dim(), tiny.hiddenDim(), tiny.layers(),
                tiny.heads(), tiny.kvHeads(), tiny.headDim(), 32000, 256, tiny.weightType(), false, 10000f, null, 4);
        DemoModel.write(spec, file, tokenizerMetadata);

        try (LoadedModel m = LoadedModel.open(file)) {
            Tokenizer tok = m.tokenizer();
            // Random weights: take the first prompt whose greedy continuation starts with a word-initial token, the
            // case that decoding without the prompt gets wrong.
            for (String prompt : new String[] {"Hello, my name is", "The capital of France is", "Once upon a time", "I like",
                    "The weather today", "My favourite colour is", "We went to the", "A B C"}) {
                int[] p = tok.encode(prompt, true, false);
                int[] gen = greedy(m, p, 6);
                if (gen.length == 0 || !tok.tokenText(gen[0]).startsWith("\u2581")) continue;
                String printed = runCommand("run", "--model", file.toString(), "--prompt", prompt, "--max-tokens", "6", "--temperature", "0");
                int[] all = Arrays.copyOf(p, p.length + gen.length);
                System.arraycopy(gen, 0, all, p.length, gen.length);
                String full = tok.decode(all, false);
                assertThat(full).startsWith(prompt + " ");
                assertThat(printed).isEqualTo(full.substring(prompt.length()) + System.lineSeparator());
                return;
            }
            throw new AssertionError("no prompt led to a word-initial first token; add prompts");
        }
    }

    /** The model's greedy continuation (up to an end token), by the definition. */
    private static int[] greedy(LoadedModel m, int[] prompt, int max) {
        int[] out = new int[max];
        int n = 0;
        try (SingleSequence seq = new SingleSequence(m.model(), 64, 64, KvDtype.F16)) {
            float[] logits = seq.prefill(prompt);
            for (int i = 0; i < max; i++) {
                int best = 0;
                for (int t = 1; t < logits.length; t++) if (logits[t] > logits[best]) best = t;
                if (m.tokenizer().isEndOfGeneration(best)) break;
                out[n++] = best;
                if (i < max - 1) logits = seq.decode(best);
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static String runCommand(String... args) {
        PrintStream stdout = System.out, stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            assertThat(ArmatureCli.commandLine().execute(args)).isZero();
            System.out.flush();
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    private static JsonNode post(HttpClient http, int port, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return new ObjectMapper().readTree(r.body());
    }

    static Path fixture(String relative) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            for (Path candidate : new Path[] {p.resolve("shared/fixtures").resolve(relative), p.resolveSibling("shared/fixtures").resolve(relative)}) {
                if (Files.exists(candidate)) return candidate;
            }
        }
        Assumptions.abort("../shared/fixtures/" + relative + " is absent: test skipped");
        return null;
    }
}
