package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-assembled per-token chunk must be the same JSON as the generator-written chunks around it. */
class JsonBodiesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode event(JsonBodies b) throws Exception {
        String s = new String(b.bytes(), 0, b.size(), StandardCharsets.UTF_8);
        assertThat(s).startsWith("data: ").endsWith("\n\n");
        return JSON.readTree(s.substring(6));
    }

    @Test
    void textChunkMatchesTheGeneralShape() throws Exception {
        for (Endpoint endpoint : Endpoint.values()) {
            JsonBodies b = new JsonBodies(JSON.getFactory(), endpoint, "id-\"1\"", 1700000000L, "model/\u00e9");
            b.chunk(12, false, "a\"b\\n\n日🎉", null, null, true);
            JsonNode fast = event(b);
            b.chunk(12, false, "", null, "stop", true);
            JsonNode general = event(b);
            for (String field : List.of("id", "object", "created", "model", "system_fingerprint", "usage")) {
                assertThat(fast.get(field)).as(endpoint + " " + field).isEqualTo(general.get(field));
            }
            assertThat(fast.at("/choices/0/index").asInt()).isEqualTo(12);
            assertThat(fast.at("/choices/0/logprobs").isNull()).isTrue();
            assertThat(fast.at("/choices/0/finish_reason").isNull()).isTrue();
            String text = endpoint == Endpoint.CHAT ? fast.at("/choices/0/delta/content").asText() : fast.at("/choices/0/text").asText();
            assertThat(text).isEqualTo("a\"b\\n\n日🎉");
            assertThat(fast.get("id").asText()).isEqualTo("id-\"1\"");
            assertThat(fast.get("model").asText()).isEqualTo("model/\u00e9");
        }
    }
}
