package ai.armature.frontend;

import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.protocol.GenerateRequest;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Output correct to the byte: text decoded in the prompt's context, only the user's stop ids sent to the worker
 * (it owns end-of-generation, so ignore_eos and min_tokens work), and logprob bytes that are the tokens' own.
 */
class OutputCorrectnessTest {

    private static TestServer s;

    @BeforeAll
    static void start() {
        s = new TestServer();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    @AfterEach
    void idle() throws Exception {
        s.engine.reply = r -> FakeEngine.DEFAULT_REPLY;
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(5))).isTrue();
        assertThat(s.server.awaitIdle(Duration.ofSeconds(5))).isTrue();
    }

    /** The llama.cpp SentencePiece vocabulary (Llama 2 / TinyLlama) from the shared fixtures, or a skip. */
    static Tokenizer sentencePiece() throws Exception {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("shared/fixtures/tokenizers/gguf/ggml-vocab-llama-spm.gguf");
            if (Files.exists(f)) return Tokenizers.load(f);
            Path g = p.resolveSibling("shared/fixtures/tokenizers/gguf/ggml-vocab-llama-spm.gguf");
            if (Files.exists(g)) return Tokenizers.load(g);
        }
        Assumptions.abort("../shared/fixtures/tokenizers/gguf/ggml-vocab-llama-spm.gguf is absent: SentencePiece test skipped");
        return null;
    }

    @Test
    void aSentencePieceCompletionKeepsItsFirstSpace() throws Exception {
        Tokenizer spm = sentencePiece();
        try (TestServer t = new TestServer(c -> c, spm)) {
            int piece = spm.tokenId("▁piece");
            t.engine.replyTokens = r -> new int[] {piece, piece};
            JsonNode whole = TestServer.json(t.post("/v1/completions", "{\"prompt\":\"Hello, my name is\",\"max_tokens\":5}", true).body());
            assertThat(whole.at("/choices/0/text").asText()).isEqualTo(" piece piece");
            HttpResponse<String> streamed = t.post("/v1/completions", "{\"prompt\":\"Hello, my name is\",\"stream\":true}", true);
            StringBuilder text = new StringBuilder();
            for (String e : TestServer.events(streamed.body())) {
                if (!e.equals("[DONE]")) text.append(TestServer.json(e).at("/choices/0/text").asText(""));
            }
            assertThat(text.toString()).isEqualTo(" piece piece");
            // Prompt + completion is the whole text, as decoding all tokens at once gives it.
            int[] prompt = spm.encode("Hello, my name is", true, false);
            int[] all = java.util.Arrays.copyOf(prompt, prompt.length + 2);
            all[prompt.length] = piece;
            all[prompt.length + 1] = piece;
            assertThat("Hello, my name is" + text).isEqualTo(spm.decode(all, false));
            // Chat content is decoded in the context of the rendered conversation too.
            JsonNode chat = TestServer.json(t.post("/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true).body());
            assertThat(chat.at("/choices/0/message/content").asText()).isEqualTo(" piece piece");
            t.engine.awaitIdle(Duration.ofSeconds(5));
        }
    }

    @Test
    void onlyTheUsersStopIdsGoToTheWorkerWithIgnoreEosAndMinTokens() throws Exception {
        s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":4}", true);
        GenerateRequest plain = s.engine.requests().getLast();
        assertThat(plain.stop().stopTokenIds()).as("the end-of-generation ids are the worker's business").isEmpty();
        assertThat(plain.stop().ignoreEos()).isFalse();
        assertThat(plain.stop().minTokens()).isZero();

        HttpResponse<String> r = s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"max_tokens\":8,\"min_tokens\":8,\"ignore_eos\":true,\"stop_token_ids\":[65,66]}", true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        GenerateRequest custom = s.engine.requests().getLast();
        assertThat(custom.stop().stopTokenIds()).containsExactly(65, 66);
        assertThat(custom.stop().ignoreEos()).isTrue();
        assertThat(custom.stop().minTokens()).isEqualTo(8);
        assertThat(custom.stop().maxTokens()).isEqualTo(8);
    }

    @Test
    void badStopIdsAndMinTokensAre400() throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"x\",\"stop_token_ids\":[99999]}", true);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(TestServer.json(r.body()).at("/error/param").asText()).isEqualTo("stop_token_ids");
        r = s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"min_tokens\":3}", true);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(TestServer.json(r.body()).at("/error/param").asText()).isEqualTo("min_tokens");
        r = s.post("/v1/completions", "{\"prompt\":\"x\",\"min_tokens\":-1}", true);
        assertThat(r.statusCode()).isEqualTo(400);
    }

    @Test
    void logprobBytesAreEachTokensRawBytes() throws Exception {
        s.engine.reply = r -> "é€";
        JsonNode chat = TestServer.json(s.post("/v1/chat/completions", "{\"logprobs\":true,\"top_logprobs\":1,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true).body());
        JsonNode content = chat.at("/choices/0/logprobs/content");
        assertThat(content).hasSize(5); // é is 2 bytes, € 3
        byte[] expected = "é€".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Set<String> tokens = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            assertThat(content.at("/" + i + "/bytes")).hasSize(1);
            assertThat(content.at("/" + i + "/bytes/0").asInt()).isEqualTo(expected[i] & 0xff);
            tokens.add(content.at("/" + i + "/token").asText());
        }
        assertThat(tokens).as("different byte tokens look different").hasSize(5);
        assertThat(content.at("/0/token").asText()).isEqualTo("bytes:\\xc3");
        assertThat(chat.at("/choices/0/message/content").asText()).isEqualTo("é€");

        // Completions: top_logprobs keys stay distinct and text offsets point into the text.
        s.engine.reply = r -> "aé";
        JsonNode cmpl = TestServer.json(s.post("/v1/completions", "{\"prompt\":\"x\",\"logprobs\":1}", true).body());
        JsonNode lp = cmpl.at("/choices/0/logprobs");
        assertThat(lp.get("tokens")).hasSize(3);
        assertThat(lp.at("/top_logprobs/1").fieldNames().next()).isEqualTo("bytes:\\xc3");
        assertThat(lp.at("/text_offset/0").asInt()).isZero();
        assertThat(lp.at("/text_offset/1").asInt()).isEqualTo(1);
        assertThat(lp.at("/text_offset/2").asInt()).isEqualTo(1); // the second byte of é: é starts at 1
        assertThat(cmpl.at("/choices/0/text").asText()).isEqualTo("aé");
    }

    @Test
    void usageCountsTheTokensTheClientReceived() throws Exception {
        JsonNode r = TestServer.json(s.post("/v1/completions", "{\"prompt\":\"x\",\"logprobs\":0,\"max_tokens\":64}", true).body());
        int tokens = r.at("/choices/0/logprobs/tokens").size();
        assertThat(r.at("/usage/completion_tokens").asInt()).isEqualTo(tokens).isEqualTo(FakeEngine.DEFAULT_REPLY.length());
    }

    static List<String> texts(List<String> events, String field) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (String e : events) if (!e.equals("[DONE]")) out.add(TestServer.json(e).at(field).asText(""));
        return out;
    }
}
