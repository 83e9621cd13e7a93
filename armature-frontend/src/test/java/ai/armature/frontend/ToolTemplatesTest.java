package ai.armature.frontend;

import ai.armature.engine.chat.JinjaChatTemplate;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tools, assistant tool calls and tool results rendered into a real model's chat template (Qwen3's, read from the
 * shared fixtures; skipped without them) exactly as Python's Jinja2 renders them under transformers' settings: the
 * expected prompts under
 * {@code chat-templates/expected} were written by {@code chat-templates/render_reference.py} from the same
 * OpenAI-format requests ({@code conversations.json}).
 */
class ToolTemplatesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path QWEN3 = Path.of("../../shared/fixtures/tokenizers/hf/qwen3/tokenizer_config.json");

    record Template(String name, String source, String bos, String eos) {
    }

    static List<Arguments> cases() throws IOException {
        JsonNode conversations = JSON.readTree(resource("conversations.json"));
        List<Template> templates = new ArrayList<>();
        if (Files.exists(QWEN3)) {
            templates.add(new Template("qwen3", JSON.readTree(QWEN3.toFile()).get("chat_template").asText(), "", "<|im_end|>"));
        }
        List<Arguments> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> c : conversations.properties()) {
            for (Template t : templates) {
                JsonNode only = c.getValue().get("templates");
                if (only != null && !only.toString().contains("\"" + t.name() + "\"")) continue;
                out.add(Arguments.of(t.name() + "/" + c.getKey(), t, c.getKey(), c.getValue()));
            }
        }
        return out;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ToolTemplatesTest.class.getResourceAsStream("/chat-templates/" + name)) {
            if (in == null) throw new IOException("missing test resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    // Without the shared fixtures there is no template to render: qwen3FixturePresent reports the skip.
    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("cases")
    void rendersAsJinja2Does(String label, Template t, String conversation, JsonNode body) throws IOException {
        String expected = resource("expected/" + t.name() + "." + conversation + ".txt");
        ByteTokenizer bytes = new ByteTokenizer(false);
        PromptBuilder prompts = new PromptBuilder(bytes, new JinjaChatTemplate(t.source(), t.bos(), t.eos(), false), JSON);
        assertThat(bytes.decode(prompts.chat(body), true)).isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void qwen3FixturePresent() {
        Assumptions.assumeTrue(Files.exists(QWEN3), "the Qwen3 template is read from ../shared/fixtures; run from the project root's checkout");
    }
}
