package ai.armature.engine.chat;

import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Finds a model's chat template: {@code tokenizer.chat_template} in GGUF metadata, or {@code chat_template} in
 * {@code tokenizer_config.json} (or a {@code chat_template.jinja} file) of a Hugging Face model directory. A model
 * without one gets the documented ChatML fallback ({@link #CHATML}), logged once per process;
 * {@link JinjaChatTemplate#isFallback()} tells which was used.
 */
public final class ChatTemplates {

    private static final System.Logger LOG = System.getLogger(ChatTemplates.class.getName());
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The fallback: ChatML ({@code <|im_start|>role\ncontent<|im_end|>\n} per message, then
     * {@code <|im_start|>assistant\n} when a generation prompt is asked for). Content-part lists contribute their
     * text parts.
     */
    public static final String CHATML = """
            {%- for message in messages -%}
            {{- '<|im_start|>' + message['role'] + '\\n' -}}
            {%- if message['content'] is string -%}{{- message['content'] -}}
            {%- else -%}{%- for part in message['content'] -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}
            {%- endif -%}
            {{- '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}""";

    private ChatTemplates() {
    }

    /** The template in GGUF metadata, with BOS/EOS texts from {@code tokenizer}; the ChatML fallback if none. */
    public static JinjaChatTemplate fromGguf(GgufMetadata md, Tokenizer tokenizer) {
        String src = md.getString("tokenizer.chat_template");
        return create(src, text(tokenizer, tokenizer.bosTokenId()), text(tokenizer, tokenizer.eosTokenId()), "GGUF metadata");
    }

    private static String text(Tokenizer t, int id) {
        return id < 0 ? "" : t.tokenText(id);
    }

    /**
     * The template of {@code path}: a {@code .gguf} file, a {@code tokenizer_config.json}, or a model directory.
     *
     * @throws IOException when a file cannot be read
     */
    public static JinjaChatTemplate load(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        if (!Files.isDirectory(path) && path.getFileName().toString().toLowerCase().endsWith(".gguf")) {
            GgufMetadata md = Tokenizers.ggufMetadata(path);
            return fromGguf(md, Tokenizers.fromGguf(md));
        }
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path config = Files.isDirectory(path) ? path.resolve("tokenizer_config.json") : path;
        String src = null;
        String bos = "";
        String eos = "";
        if (Files.exists(config) && config.getFileName().toString().endsWith(".json")) {
            JsonNode c = JSON.readTree(config.toFile());
            JsonNode t = c.get("chat_template");
            if (t != null && t.isTextual()) {
                src = t.asText();
            } else if (t != null && t.isArray()) {
                for (JsonNode named : t) {
                    if ("default".equals(named.path("name").asText())) src = named.path("template").asText();
                }
            }
            bos = tokenContent(c.get("bos_token"));
            eos = tokenContent(c.get("eos_token"));
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (src == null && Files.exists(jinja)) src = Files.readString(jinja);
        return create(src, bos, eos, path.toString());
    }

    private static String tokenContent(JsonNode v) {
        if (v == null || v.isNull()) return "";
        if (v.isTextual()) return v.asText();
        return v.path("content").asText("");
    }

    private static JinjaChatTemplate create(String src, String bos, String eos, String where) {
        if (src == null || src.isBlank()) {
            if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "no chat template in " + where + "; using the ChatML fallback");
            }
            return new JinjaChatTemplate(CHATML, bos, eos, true);
        }
        return new JinjaChatTemplate(src, bos, eos, false);
    }
}
