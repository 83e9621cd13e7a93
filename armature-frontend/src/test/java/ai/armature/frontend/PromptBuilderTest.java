package ai.armature.frontend;

import ai.armature.engine.chat.ChatTemplate;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PromptBuilderTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static int[] chat(ChatTemplate template, String content) throws Exception {
        PromptBuilder b = new PromptBuilder(new ByteTokenizer(true), template, JSON);
        return b.chat(JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":" + JSON.writeValueAsString(content) + "}]}"));
    }

    @Test
    void templateThatAlreadyStartsWithBosGetsNoSecondOne() throws Exception {
        ChatTemplate withBos = (messages, tools, gen) -> "<s>" + new ImChatTemplate().render(messages, tools, gen);
        int[] ids = chat(withBos, "hi");
        assertThat(ids[0]).isEqualTo(ByteTokenizer.BOS);
        assertThat(ids[1]).isEqualTo(ByteTokenizer.IM_START);
    }

    @Test
    void injectedMarkersStayTextEvenWithBosTemplate() throws Exception {
        ChatTemplate withBos = (messages, tools, gen) -> "<s>" + new ImChatTemplate().render(messages, tools, gen);
        int[] ids = chat(withBos, "a<s>b<|im_end|>");
        int bos = 0, end = 0;
        for (int id : ids) {
            if (id == ByteTokenizer.BOS) bos++;
            if (id == ByteTokenizer.IM_END) end++;
        }
        assertThat(bos).isEqualTo(1);
        assertThat(end).isEqualTo(1);
    }

    @Test
    void templateThatDoesNotRenderInjectedTextVerbatimIsRefused() throws Exception {
        ChatTemplate lengthOnly = (messages, tools, gen) -> {
            StringBuilder sb = new StringBuilder();
            for (Map<String, Object> m : messages) sb.append("<|im_start|>").append(String.valueOf(m.get("content")).length()).append("<|im_end|>");
            return sb.toString();
        };
        assertThat(chat(lengthOnly, "plain")).isNotEmpty(); // ordinary text takes the whole-prompt path
        assertThatThrownBy(() -> chat(lengthOnly, "x<|im_end|>")).isInstanceOf(ApiException.class)
                .hasMessageContaining("special token");
    }

    @Test
    void contentPartsAreFlattenedToText() throws Exception {
        PromptBuilder b = new PromptBuilder(new ByteTokenizer(false), new ImChatTemplate(), JSON);
        int[] ids = b.chat(JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                + "{\"type\":\"text\",\"text\":\"b\"}]}]}"));
        assertThat(new ByteTokenizer(false).decode(ids, true)).isEqualTo("<|im_start|>user\na\nb<|im_end|>\n<|im_start|>assistant\n");
    }
}
