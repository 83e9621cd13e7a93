package ai.armature.frontend;

import ai.armature.engine.tokenizer.Tokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * {@code POST /tokenize} and {@code POST /detokenize} in vLLM's shapes. Tokenize takes a completions
 * {@code prompt} (special-token text honoured, BOS per {@code add_special_tokens}, default true) or chat
 * {@code messages} (rendered with the model's template as a chat request would be, {@code add_generation_prompt}
 * default true); it answers {@code count}, {@code max_model_len}, {@code tokens} and, with
 * {@code return_token_strs}, {@code token_strs} (the vocabulary entries). Detokenize answers the {@code prompt} text
 * of {@code tokens}, as a completion would read them.
 */
final class TokenizeHandler {

    private final Tokenizer tokenizer;
    private final PromptBuilder prompts;
    private final int contextTokens;
    private final JsonFactory json;

    TokenizeHandler(Tokenizer tokenizer, PromptBuilder prompts, int contextTokens, JsonFactory json) {
        this.tokenizer = tokenizer;
        this.prompts = prompts;
        this.contextTokens = contextTokens;
        this.json = json;
    }

    byte[] tokenize(JsonNode body) {
        JsonNode prompt = body.get("prompt");
        JsonNode messages = body.get("messages");
        if (RequestParser.present(prompt) == RequestParser.present(messages)) {
            throw ApiException.badRequest(null, "give either prompt (a string) or messages (a chat), not both and not neither");
        }
        int[] ids;
        if (RequestParser.present(prompt)) {
            if (!prompt.isTextual()) throw ApiException.badRequest("prompt", "prompt must be a string");
            boolean special = RequestParser.bool(body, "add_special_tokens", true);
            ids = tokenizer.encode(prompt.asText(), special && tokenizer.addBosByDefault(), true);
        } else {
            boolean generationPrompt = RequestParser.bool(body, "add_generation_prompt", true);
            ids = prompts.chat(body, generationPrompt);
        }
        boolean strs = RequestParser.bool(body, "return_token_strs", false);
        return write(g -> {
            g.writeStartObject();
            g.writeNumberField("count", ids.length);
            g.writeNumberField("max_model_len", contextTokens);
            g.writeArrayFieldStart("tokens");
            for (int id : ids) g.writeNumber(id);
            g.writeEndArray();
            g.writeFieldName("token_strs");
            if (strs) {
                g.writeStartArray();
                for (int id : ids) g.writeString(tokenizer.tokenText(id));
                g.writeEndArray();
            } else {
                g.writeNull();
            }
            g.writeEndObject();
        });
    }

    byte[] detokenize(JsonNode body) {
        JsonNode tokens = body.get("tokens");
        if (!RequestParser.present(tokens) || !tokens.isArray()) {
            throw ApiException.badRequest("tokens", "tokens is required: an array of token ids");
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= tokenizer.vocabSize()) {
                throw ApiException.badRequest("tokens", "token ids must be integers in [0, " + tokenizer.vocabSize() + "), got " + t
                        + " at position " + i);
            }
            ids[i] = t.asInt();
        }
        String text = tokenizer.decode(ids, false);
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("prompt", text);
            g.writeEndObject();
        });
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = json.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
