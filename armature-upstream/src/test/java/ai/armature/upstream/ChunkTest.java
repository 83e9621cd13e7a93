package ai.armature.upstream;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading the chunks of each engine's stream, in the shapes their servers send. */
class ChunkTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void vllmTokenIdsAndUsage() throws Exception {
        Chunk c = Chunk.openAi(JSON.readTree("""
                {"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":" the","logprobs":null,
                 "finish_reason":null,"token_ids":[279, 1],"prompt_token_ids":[1,2,3]}]}"""));
        assertThat(c.tokenIds()).containsExactly(279, 1);
        assertThat(c.text()).isEqualTo(" the");
        assertThat(c.finishReason()).isNull();
        assertThat(c.hasUsage()).isFalse();
        Chunk u = Chunk.openAi(JSON.readTree("""
                {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7,"total_tokens":10,
                 "prompt_tokens_details":{"cached_tokens":2}}}"""));
        assertThat(u.promptTokens()).isEqualTo(3);
        assertThat(u.completionTokens()).isEqualTo(7);
        assertThat(u.cachedTokens()).isEqualTo(2);
    }

    @Test
    void vllmLegacyLogprobsNameTokensById() throws Exception {
        Chunk c = Chunk.openAi(JSON.readTree("""
                {"choices":[{"index":0,"text":"ab","finish_reason":"stop","logprobs":{"tokens":["token_id:5","token_id:6"],
                 "token_logprobs":[-0.5,-1.5],"top_logprobs":[{"token_id:5":-0.5,"token_id:9":-2.0},{"token_id:6":-1.5}],
                 "text_offset":[0,1]}}]}"""));
        assertThat(c.tokenIds()).containsExactly(5, 6);
        assertThat(c.finishReason()).isEqualTo("stop");
        assertThat(c.logprobs()).hasSize(2);
        assertThat(c.logprobs().get(0).topTokenIds()).containsExactly(5, 9);
        assertThat(c.logprobs().get(1).logprob()).isEqualTo(-1.5f);
    }

    @Test
    void legacyLogprobsWithTextTokensGiveNoIds() throws Exception {
        Chunk c = Chunk.openAi(JSON.readTree("""
                {"choices":[{"index":0,"text":"ab","finish_reason":null,"logprobs":{"tokens":["a","b"],
                 "token_logprobs":[-0.5,-1.5],"top_logprobs":[{"a":-0.5},{"b":-1.5}]}}]}"""));
        assertThat(c.tokenIds()).isNull();
        assertThat(c.logprobs()).isNull();
    }

    @Test
    void llamaServerOpenAiEndpointCarriesIdsInLogprobContent() throws Exception {
        Chunk c = Chunk.openAi(JSON.readTree("""
                {"choices":[{"text":" hi","index":0,"logprobs":{"content":[{"id":1234,"token":" hi","bytes":[32,104,105],
                 "logprob":-0.25,"top_logprobs":[{"id":1234,"token":" hi","bytes":[],"logprob":-0.25}]}]},"finish_reason":null}],
                 "object":"text_completion"}"""));
        assertThat(c.tokenIds()).containsExactly(1234);
        assertThat(c.logprobs().getFirst().topTokenIds()).containsExactly(1234);
    }

    @Test
    void llamaServerNativeChunks() throws Exception {
        Chunk partial = Chunk.llamaCpp(JSON.readTree("""
                {"index":0,"content":" Aki","tokens":[362],"stop":false,"id_slot":0}"""));
        assertThat(partial.tokenIds()).containsExactly(362);
        assertThat(partial.finishReason()).isNull();
        Chunk last = Chunk.llamaCpp(JSON.readTree("""
                {"index":0,"content":"","tokens":[],"stop":true,"stop_type":"limit","tokens_predicted":8,"tokens_evaluated":5,
                 "timings":{"prompt_n":2,"predicted_n":8}}"""));
        assertThat(last.finishReason()).isEqualTo("length");
        assertThat(last.promptTokens()).isEqualTo(5);
        assertThat(last.cachedTokens()).isEqualTo(3);
        Chunk eos = Chunk.llamaCpp(JSON.readTree("""
                {"content":"","stop":true,"stopped_eos":true,"stopped_limit":false,"tokens_predicted":3,"tokens_evaluated":5}"""));
        assertThat(eos.finishReason()).isEqualTo("stop");
        assertThat(eos.tokenIds()).isNull();
    }

    @Test
    void errorsMidStream() throws Exception {
        assertThat(Chunk.openAi(JSON.readTree("{\"error\":{\"message\":\"boom\",\"type\":\"x\"}}")).error()).isEqualTo("boom");
        assertThat(Chunk.llamaCpp(JSON.readTree("{\"error\":\"slot unavailable\"}")).error()).isEqualTo("slot unavailable");
    }
}
