package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code POST /tokenize} and {@code /detokenize} in vLLM's shapes, over the byte tokenizer (ids are bytes, 256 is
 * BOS, 258/259 the chat markers): the expected ids are written out by hand, and a chat's ids must be exactly those a
 * chat request submits to the engine.
 */
class TokenizeEndpointsTest {

    private static TestServer s;

    @BeforeAll
    static void start() {
        s = new TestServer();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    private static List<Integer> ids(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        for (JsonNode n : array) out.add(n.asInt());
        return out;
    }

    private static JsonNode ok(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return TestServer.json(r.body());
    }

    @Test
    void tokenizeAPromptWithAndWithoutSpecialTokens() throws Exception {
        JsonNode r = ok(s.post("/tokenize", "{\"model\":\"test-model\",\"prompt\":\"hi<|im_end|>\"}", true));
        assertThat(ids(r.get("tokens"))).containsExactly(256, (int) 'h', (int) 'i', 259);
        assertThat(r.get("count").asInt()).isEqualTo(4);
        assertThat(r.get("max_model_len").asInt()).isEqualTo(4096);
        assertThat(r.get("token_strs").isNull()).isTrue();

        JsonNode plain = ok(s.post("/tokenize", "{\"prompt\":\"hi\",\"add_special_tokens\":false,\"return_token_strs\":true}", true));
        assertThat(ids(plain.get("tokens"))).containsExactly((int) 'h', (int) 'i');
        assertThat(plain.get("token_strs").toString()).isEqualTo("[\"h\",\"i\"]");
    }

    @Test
    void tokenizeAChatGivesTheIdsAChatRequestSubmits() throws Exception {
        String messages = "\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}]";
        JsonNode r = ok(s.post("/tokenize", "{" + messages + "}", true));
        int before = s.engine.requests().size();
        assertThat(s.post("/v1/chat/completions", "{" + messages + ",\"max_tokens\":1}", true).statusCode()).isEqualTo(200);
        int[] submitted = s.engine.requests().get(before).promptTokens();
        assertThat(ids(r.get("tokens"))).isEqualTo(Arrays.stream(submitted).boxed().toList());

        // Without the generation prompt the ids end at the last message ("<|im_end|>\n"), not the assistant header.
        JsonNode bare = ok(s.post("/tokenize", "{" + messages + ",\"add_generation_prompt\":false}", true));
        List<Integer> b = ids(bare.get("tokens"));
        String header = "<|im_start|>assistant\n";
        assertThat(b).hasSize(submitted.length - (header.length() - "<|im_start|>".length() + 1));
        assertThat(b.subList(b.size() - 2, b.size())).containsExactly(259, (int) '\n');
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(30))).isTrue();
    }

    @Test
    void detokenizeReadsIdsAsACompletionWould() throws Exception {
        JsonNode r = ok(s.post("/detokenize", "{\"tokens\":[256,104,105,33]}", true));
        assertThat(r.get("prompt").asText()).isEqualTo("hi!");
        // Multi-byte UTF-8 split over ids is reassembled.
        byte[] e = "é".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(ok(s.post("/detokenize", "{\"tokens\":[" + (e[0] & 0xff) + "," + (e[1] & 0xff) + "]}", true))
                .get("prompt").asText()).isEqualTo("é");
    }

    @Test
    void badRequestsAreRefusedInOpenAiShape() throws Exception {
        for (String[] c : new String[][] {
                {"/tokenize", "{\"prompt\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "400"},
                {"/tokenize", "{}", "400"},
                {"/tokenize", "{\"prompt\":5}", "400"},
                {"/detokenize", "{\"tokens\":[1,260]}", "400"},
                {"/detokenize", "{\"tokens\":\"abc\"}", "400"},
                {"/tokenize", "{\"model\":\"other\",\"prompt\":\"x\"}", "404"}}) {
            HttpResponse<String> r = s.post(c[0], c[1], true);
            assertThat(r.statusCode()).as(c[0] + " " + c[1] + " -> " + r.body()).isEqualTo(Integer.parseInt(c[2]));
            assertThat(TestServer.json(r.body()).at("/error/message").asText()).isNotEmpty();
        }
        assertThat(s.post("/tokenize", "{\"prompt\":\"x\"}", false).statusCode()).isEqualTo(401);
    }
}
