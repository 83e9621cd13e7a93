package ai.armature.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Parsing of the event streams real servers send. */
class SseStreamTest {

    private static OpenAiClient.Result feed(boolean keepText, String... lines) {
        SseStream s = new SseStream(new ObjectMapper(), keepText, System::nanoTime);
        s.start(0);
        BenchTestSupport.respond200(s);
        for (String l : lines) {
            s.onNext(l);
        }
        s.onComplete();
        return s.finish(null, System.nanoTime(), RequestSpec.completion("p", 4, 1, "t"), Endpoint.CHAT, 0, 0, -1);
    }

    @Test
    void chatStreamWithRoleChunkReasoningAndUsage() {
        OpenAiClient.Result r = feed(true,
                ": keep-alive comment",
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}", "",
                "data:{\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}],\"usage\":null}", "",
                "event: message",
                "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}},{\"delta\":{\"content\":\"ignored\"}}]}", "",
                "data: {\"choices\":[{\"delta\":{\"content\":\" there\"},\"logprobs\":{\"content\":[1,2]}}]}", "",
                "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":5,"
                        + "\"prompt_tokens_details\":{\"cached_tokens\":3},\"extra\":[1,{\"a\":2}]}}", "",
                "data: [DONE]");
        RequestRecord rec = r.record();
        assertThat(rec.ok()).isTrue();
        assertThat(r.text()).isEqualTo("hmmHi there");
        assertThat(rec.contentChunks()).isEqualTo(3);
        assertThat(rec.chunkGapsNanos()).hasSize(2);
        assertThat(rec.promptTokens()).isEqualTo(7);
        assertThat(rec.completionTokens()).isEqualTo(5);
        assertThat(rec.cachedTokens()).isEqualTo(3);
        assertThat(rec.tokensPerGap()).isEqualTo(2.0);
    }

    @Test
    void anErrorEventFailsTheRequest() {
        RequestRecord rec = feed(false,
                "data: {\"choices\":[{\"text\":\"a\"}]}",
                "data: {\"error\":{\"message\":\"out of KV blocks\",\"type\":\"server_error\"}}").record();
        assertThat(rec.error()).isEqualTo(ErrorKind.STREAM_ERROR);
        assertThat(rec.errorMessage()).isEqualTo("out of KV blocks");
    }

    @Test
    void aStreamWithoutDoneOrUsageIsADroppedConnection() {
        RequestRecord rec = feed(false, "data: {\"choices\":[{\"text\":\"a\"}]}").record();
        assertThat(rec.error()).isEqualTo(ErrorKind.CONNECTION_DROPPED);
        assertThat(rec.outputTokens()).isEqualTo(1);
    }

    @Test
    void nonJsonDataIsMalformed() {
        assertThat(feed(false, "data: [1,2]").record().error()).isEqualTo(ErrorKind.MALFORMED);
        assertThat(feed(false, "data: {\"choices\": [").record().error()).isEqualTo(ErrorKind.MALFORMED);
    }
}
