package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Completions {@code echo} (the prompt before the text, its tokens' logprobs before the completion's, {@code
 * max_tokens} 0 for the prompt alone: what lm-evaluation-harness sends for log-likelihoods) and vLLM's {@code
 * prompt_logprobs}, over the byte tokenizer and the fake engine, whose prompt logprobs are a known function of the
 * position (token i: -0.25 i, rank i + 1; top alternatives (i + k) % 128 at -0.1 (k + 1)).
 */
class EchoAndPromptLogprobsTest {

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
        assertThat(s.engine.awaitIdle(Duration.ofSeconds(30))).isTrue();
        assertThat(s.server.awaitIdle(Duration.ofSeconds(30))).isTrue();
    }

    private static JsonNode ok(String body) throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", body, true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return TestServer.json(r.body());
    }

    @Test
    void echoPutsThePromptBeforeTheText() throws Exception {
        JsonNode r = ok("{\"prompt\":\"xy\",\"echo\":true,\"max_tokens\":3}");
        assertThat(r.at("/choices/0/text").asText()).isEqualTo("xyThe");
        assertThat(r.at("/usage/completion_tokens").asInt()).isEqualTo(3);
        assertThat(s.engine.requests().getLast().sampling().wantsPromptLogprobs()).as("no logprobs asked: none computed").isFalse();
    }

    @Test
    void echoWithLogprobsAndNoNewTokensScoresThePrompt() throws Exception {
        JsonNode r = ok("{\"prompt\":\"xy\",\"echo\":true,\"max_tokens\":0,\"logprobs\":1}");
        JsonNode c = r.at("/choices/0");
        assertThat(c.get("text").asText()).isEqualTo("xy");
        assertThat(c.get("finish_reason").asText()).isEqualTo("length");
        assertThat(r.at("/usage/completion_tokens").asInt()).isZero();
        assertThat(r.at("/usage/prompt_tokens").asInt()).isEqualTo(3); // BOS x y
        JsonNode lp = c.get("logprobs");
        assertThat(lp.get("tokens").toString()).isEqualTo("[\"<s>\",\"x\",\"y\"]");
        assertThat(lp.get("token_logprobs").toString()).isEqualTo("[null,-0.25,-0.5]");
        assertThat(lp.at("/top_logprobs/0").isNull()).isTrue();
        // Position 1's top alternative is id (1 + 0) % 128 = 1, a control byte: named by its escaped byte.
        assertThat(lp.at("/top_logprobs/1").size()).isEqualTo(1);
        assertThat(lp.at("/top_logprobs/1").properties().iterator().next().getValue().floatValue()).isEqualTo(-0.1f);
        assertThat(lp.get("text_offset").toString()).isEqualTo("[0,0,1]");
        assertThat(s.engine.requests().getLast().sampling().promptLogprobs()).isEqualTo(1);
        assertThat(s.engine.requests().getLast().stop().maxTokens()).isEqualTo(1); // one token computed, none sent
    }

    @Test
    void echoWithLogprobsAndNewTokensListsPromptThenCompletion() throws Exception {
        JsonNode lp = ok("{\"prompt\":\"xy\",\"echo\":true,\"max_tokens\":2,\"logprobs\":0}").at("/choices/0/logprobs");
        assertThat(lp.get("tokens").toString()).isEqualTo("[\"<s>\",\"x\",\"y\",\"T\",\"h\"]");
        assertThat(lp.get("text_offset").toString()).isEqualTo("[0,0,1,2,3]");
        assertThat(lp.at("/token_logprobs/3").floatValue()).isEqualTo(-0.5f); // the fake engine's completion logprob
    }

    @Test
    void streamingEchoSendsThePromptFirst() throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"xy\",\"echo\":true,\"max_tokens\":3,\"stream\":true,"
                + "\"logprobs\":0}", true);
        List<String> events = TestServer.events(r.body());
        JsonNode first = TestServer.json(events.getFirst()).at("/choices/0");
        assertThat(first.get("text").asText()).isEqualTo("xy");
        assertThat(first.at("/logprobs/tokens").size()).isEqualTo(3);
        StringBuilder text = new StringBuilder();
        for (String e : events) if (!e.equals("[DONE]")) text.append(TestServer.json(e).at("/choices/0/text").asText(""));
        assertThat(text.toString()).isEqualTo("xyThe");
    }

    @Test
    void promptLogprobsInVllmsShape() throws Exception {
        JsonNode pl = ok("{\"prompt\":\"xy\",\"max_tokens\":1,\"prompt_logprobs\":2}").at("/choices/0/prompt_logprobs");
        assertThat(pl).hasSize(3);
        assertThat(pl.get(0).isNull()).isTrue();
        // Position 2 (token 'y' = 121): its own entry, then the alternatives 2 and 3 at ranks 1 and 2.
        JsonNode p2 = pl.get(2);
        assertThat(p2.get("121").get("logprob").floatValue()).isEqualTo(-0.5f);
        assertThat(p2.get("121").get("rank").asInt()).isEqualTo(3);
        assertThat(p2.get("121").get("decoded_token").asText()).isEqualTo("y");
        assertThat(p2.get("2").get("rank").asInt()).isEqualTo(1);
        assertThat(p2.get("3").get("logprob").floatValue()).isEqualTo(-0.2f);
        assertThat(p2.size()).isEqualTo(3);
    }

    @Test
    void whatIsNotSupportedIsRefused() throws Exception {
        for (String[] c : new String[][] {
                {"/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}", "max_tokens"},
                {"/v1/completions", "{\"prompt\":\"x\",\"prompt_logprobs\":2,\"stream\":true}", "prompt_logprobs"},
                {"/v1/completions", "{\"prompt\":\"x\",\"prompt_logprobs\":21}", "prompt_logprobs"},
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"prompt_logprobs\":1}", "prompt_logprobs"}}) {
            HttpResponse<String> r = s.post(c[0], c[1], true);
            assertThat(r.statusCode()).as(c[1] + " -> " + r.body()).isEqualTo(400);
            assertThat(TestServer.json(r.body()).at("/error/param").asText()).isEqualTo(c[2]);
        }
    }
}
