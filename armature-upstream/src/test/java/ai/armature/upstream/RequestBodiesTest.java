package ai.armature.upstream;

import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What each kind of upstream is sent, and what is refused rather than silently dropped. */
class RequestBodiesTest {

    private static UpstreamConfig config(UpstreamKind kind) {
        return UpstreamConfig.of(URI.create("http://127.0.0.1:1"), kind, "w", "m", new int[] {2}, t -> new int[0]);
    }

    private static GenerateRequest request(SamplingParams s, StopConditions stop) {
        return new GenerateRequest("r", new int[] {1, 2, 3}, s, stop);
    }

    @Test
    void llamaServerGetsEveryKnobExplicitlyAndTokensBack() {
        SamplingParams s = new SamplingParams(0.7, 0.9, 0, 0, 1, 0.1, 0.2, -1L, -1);
        var call = RequestBodies.build(config(UpstreamKind.LLAMA_CPP), new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS),
                request(s, StopConditions.maxTokens(5)));
        assertThat(call.path()).isEqualTo("/completion");
        assertThat(call.nativeLlamaCpp()).isTrue();
        var b = call.body();
        assertThat(b.path("n_predict").asInt()).isEqualTo(5);
        assertThat(b.path("top_k").asInt()).isZero();
        assertThat(b.path("min_p").asDouble()).isZero();
        assertThat(b.path("repeat_penalty").asDouble()).isEqualTo(1.0);
        assertThat(b.path("return_tokens").asBoolean()).isTrue();
        assertThat(b.path("cache_prompt").asBoolean()).isTrue();
        assertThat(b.path("seed").asLong()).isBetween(0L, 0xFFFFFFFEL); // -1 is llama-server's "random"
        assertThat(b.path("prompt").toString()).isEqualTo("[1,2,3]");
    }

    @Test
    void llamaServerForksWithoutReturnTokensAreAskedForLogprobIds() {
        var call = RequestBodies.build(config(UpstreamKind.LLAMA_CPP), new UpstreamInfo("x", 100, 0, TokenIdSource.LOGPROB_IDS),
                request(SamplingParams.GREEDY, StopConditions.maxTokens(5)));
        assertThat(call.path()).isEqualTo("/v1/completions");
        assertThat(call.body().path("logprobs").asInt()).isEqualTo(1);
        assertThat(call.body().path("max_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void vllmLogprobsNameTokensById() {
        SamplingParams s = new SamplingParams(1, 1, 50, 0.05, 1.1, 0, 0, 7, 3);
        var b = RequestBodies.build(config(UpstreamKind.VLLM), new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS),
                request(s, StopConditions.maxTokens(5))).body();
        assertThat(b.path("logprobs").asInt()).isEqualTo(3);
        assertThat(b.path("return_tokens_as_token_ids").asBoolean()).isTrue();
        assertThat(b.path("top_k").asInt()).isEqualTo(50);
        assertThat(b.path("min_p").asDouble()).isEqualTo(0.05);
        assertThat(b.path("repetition_penalty").asDouble()).isEqualTo(1.1);
    }

    @Test
    void outputConstraintsGoUpAsTheUpstreamTakesThem() {
        UpstreamInfo ids = new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS);
        var schema = ai.armature.protocol.OutputConstraint.jsonSchema("{\"type\":\"integer\"}");
        var vllm = RequestBodies.build(config(UpstreamKind.VLLM), ids, request(SamplingParams.GREEDY, StopConditions.maxTokens(5)).withConstraint(schema)).body();
        assertThat(vllm.path("response_format").path("type").asText()).isEqualTo("json_schema");
        assertThat(vllm.path("response_format").path("json_schema").path("schema").path("type").asText()).isEqualTo("integer");
        var llama = RequestBodies.build(config(UpstreamKind.LLAMA_CPP), ids, request(SamplingParams.GREEDY, StopConditions.maxTokens(5))
                .withConstraint(ai.armature.protocol.OutputConstraint.jsonObject())).body();
        assertThat(llama.path("json_schema").path("type").asText()).isEqualTo("object");
        assertThatThrownBy(() -> RequestBodies.build(config(UpstreamKind.SGLANG), ids, request(SamplingParams.GREEDY, StopConditions.maxTokens(5))
                .withConstraint(schema))).isInstanceOf(RequestRejectedException.class).hasMessageContaining("structured output");
    }

    @Test
    void whatAnUpstreamCannotHonourIsRefused() {
        UpstreamInfo text = new UpstreamInfo("x", 100, 0, TokenIdSource.TEXT);
        SamplingParams topK = new SamplingParams(1, 1, 40, 0, 1, 0, 0, 7, -1);
        assertThatThrownBy(() -> RequestBodies.build(config(UpstreamKind.OPENAI), text, request(topK, StopConditions.maxTokens(5))))
                .isInstanceOf(RequestRejectedException.class).hasMessageContaining("top_k");
        SamplingParams lp = new SamplingParams(1, 1, 0, 0, 1, 0, 0, 7, 2);
        assertThatThrownBy(() -> RequestBodies.build(config(UpstreamKind.OPENAI), text, request(lp, StopConditions.maxTokens(5))))
                .hasMessageContaining("logprobs");
        StopConditions extra = new StopConditions(5, new int[] {2, 9}, false, false);
        assertThatThrownBy(() -> RequestBodies.build(config(UpstreamKind.LLAMA_CPP), text, request(SamplingParams.GREEDY, extra)))
                .hasMessageContaining("stop token ids");
        var salted = new GenerateRequest("r", new int[] {1}, SamplingParams.GREEDY, StopConditions.maxTokens(2), 0, "tenant");
        assertThatThrownBy(() -> RequestBodies.build(config(UpstreamKind.SGLANG), text, salted)).hasMessageContaining("cache_salt");
        assertThat(RequestBodies.build(config(UpstreamKind.VLLM), new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS), salted)
                .body().path("cache_salt").asText()).isEqualTo("tenant");
    }

    @Test
    void logitBiasIsForwardedInEachKindsShape() {
        SamplingParams s = SamplingParams.GREEDY.withLogitBias(ai.armature.protocol.LogitBias.of(java.util.Map.of(7, -100f, 3, 2.5f)));
        var vllm = RequestBodies.build(config(UpstreamKind.VLLM), new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS),
                request(s, StopConditions.maxTokens(5))).body();
        assertThat(vllm.path("logit_bias").toString()).isEqualTo("{\"3\":2.5,\"7\":-100.0}");
        var llama = RequestBodies.build(config(UpstreamKind.LLAMA_CPP), new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS),
                request(s, StopConditions.maxTokens(5))).body();
        assertThat(llama.path("logit_bias").toString()).isEqualTo("[[3,2.5],[7,-100.0]]");
        var none = RequestBodies.build(config(UpstreamKind.OPENAI), new UpstreamInfo("x", 100, 0, TokenIdSource.TOKEN_IDS),
                request(SamplingParams.GREEDY, StopConditions.maxTokens(5))).body();
        assertThat(none.has("logit_bias")).isFalse();
    }
}
