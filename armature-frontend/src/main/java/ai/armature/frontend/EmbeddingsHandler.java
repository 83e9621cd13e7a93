package ai.armature.frontend;

import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.protocol.EmbeddingEngine;
import ai.armature.protocol.RequestRejectedException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings} as OpenAI defines it: {@code input} is a string, an array of strings, an array of
 * token ids or an array of token-id arrays; {@code encoding_format} {@code float} (default) or {@code base64}
 * (little-endian float32); {@code dimensions} only when it equals the model's (the served models are not
 * Matryoshka-trained, so a shorter vector would not be a valid embedding); usage counts input tokens. Text is
 * tokenized with the model's special tokens added (BERT's [CLS] ... [SEP]).
 */
final class EmbeddingsHandler {

    static final int MAX_INPUTS = 2048;

    private final EmbeddingEngine engine;
    private final Tokenizer tokenizer;
    private final JsonFactory json;
    private final String model;

    EmbeddingsHandler(EmbeddingEngine engine, Tokenizer tokenizer, JsonFactory json, String model) {
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.json = json;
        this.model = model;
    }

    /** The response body for {@code body}; throws ApiException for a bad request. */
    byte[] handle(JsonNode body) throws InterruptedException {
        List<int[]> inputs = inputs(body.get("input"));
        boolean base64 = encoding(body.get("encoding_format"));
        JsonNode dims = body.get("dimensions");
        if (RequestParser.present(dims)) {
            if (!dims.isIntegralNumber() || dims.asInt() < 1) throw ApiException.badRequest("dimensions", "dimensions must be a positive integer");
            if (dims.asInt() != engine.dimensions()) {
                throw ApiException.badRequest("dimensions", "this model's embeddings have " + engine.dimensions()
                        + " dimensions and it does not support other sizes (it is not Matryoshka-trained)");
            }
        }
        JsonNode user = body.get("user");
        if (RequestParser.present(user) && !user.isTextual()) throw ApiException.badRequest("user", "user must be a string");
        float[][] vectors;
        try {
            vectors = engine.embed(inputs);
        } catch (RequestRejectedException e) {
            throw switch (e.reason()) {
                case INVALID, PROMPT_TOO_LONG -> ApiException.badRequest("input", e.getMessage());
                case QUEUE_FULL -> ApiException.tooManyRequests(e.getMessage());
                default -> ApiException.unavailable(e.getMessage());
            };
        }
        int tokens = 0;
        for (int[] t : inputs) tokens += t.length;
        return write(vectors, base64, tokens);
    }

    private boolean encoding(JsonNode f) {
        if (!RequestParser.present(f)) return false;
        if (!f.isTextual()) throw ApiException.badRequest("encoding_format", "encoding_format must be 'float' or 'base64'");
        return switch (f.asText()) {
            case "float" -> false;
            case "base64" -> true;
            default -> throw ApiException.badRequest("encoding_format", "encoding_format must be 'float' or 'base64', got '" + f.asText() + "'");
        };
    }

    private List<int[]> inputs(JsonNode input) {
        if (!RequestParser.present(input)) throw ApiException.badRequest("input", "input is required");
        List<int[]> out = new ArrayList<>();
        if (input.isTextual()) {
            out.add(text(input.asText(), 0));
        } else if (input.isArray() && !input.isEmpty()) {
            JsonNode first = input.get(0);
            if (first.isTextual()) {
                for (int i = 0; i < input.size(); i++) {
                    if (!input.get(i).isTextual()) throw ApiException.badRequest("input", "input arrays must not mix strings and other values");
                    out.add(text(input.get(i).asText(), i));
                }
            } else if (first.isIntegralNumber()) {
                out.add(ids(input));
            } else if (first.isArray()) {
                for (JsonNode a : input) {
                    if (!a.isArray()) throw ApiException.badRequest("input", "input arrays must not mix token arrays and other values");
                    out.add(ids(a));
                }
            } else {
                throw ApiException.badRequest("input", "input must be a string, an array of strings, an array of token ids or an array of token-id arrays");
            }
        } else {
            throw ApiException.badRequest("input", "input must be a non-empty string or array");
        }
        if (out.size() > MAX_INPUTS) throw ApiException.badRequest("input", "at most " + MAX_INPUTS + " inputs per request, got " + out.size());
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).length > engine.maxInputTokens()) {
                throw ApiException.badRequest("input", "input " + i + " has " + out.get(i).length + " tokens; this model takes at most "
                        + engine.maxInputTokens() + " per input: shorten it");
            }
        }
        return out;
    }

    private int[] text(String s, int index) {
        if (s.isEmpty()) throw ApiException.badRequest("input", "input " + index + " is an empty string");
        return tokenizer.encode(s, true, false);
    }

    private int[] ids(JsonNode a) {
        if (a.isEmpty()) throw ApiException.badRequest("input", "a token-id input must not be empty");
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = a.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= tokenizer.vocabSize()) {
                throw ApiException.badRequest("input", "token ids must be integers in [0, " + tokenizer.vocabSize() + "), got " + t);
            }
            ids[i] = t.asInt();
        }
        return ids;
    }

    private byte[] write(float[][] vectors, boolean base64, int tokens) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(vectors.length * (base64 ? 64 : 256) + 128);
        try (JsonGenerator g = json.createGenerator(buf)) {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (int i = 0; i < vectors.length; i++) {
                g.writeStartObject();
                g.writeStringField("object", "embedding");
                g.writeNumberField("index", i);
                g.writeFieldName("embedding");
                if (base64) {
                    ByteBuffer b = ByteBuffer.allocate(vectors[i].length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (float f : vectors[i]) b.putFloat(f);
                    g.writeString(Base64.getEncoder().encodeToString(b.array()));
                } else {
                    g.writeStartArray();
                    for (float f : vectors[i]) g.writeNumber(f);
                    g.writeEndArray();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeStringField("model", model);
            g.writeObjectFieldStart("usage");
            g.writeNumberField("prompt_tokens", tokens);
            g.writeNumberField("total_tokens", tokens);
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buf.toByteArray();
    }
}
