package ai.armature.frontend;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.webserver.http.ServerResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * {@code POST /v1/messages}, Anthropic's Messages API, over the chat generation path ({@link AnthropicRequests}
 * translates the request): a message of content blocks (thinking when a reasoning parser splits reasoning off,
 * text, tool_use), its stop reason (end_turn, max_tokens, stop_sequence with the sequence, tool_use) and usage
 * (input tokens not read from the prefix cache, cache reads, output tokens); or, streaming, the events
 * message_start, content_block_start / _delta (text_delta, thinking_delta, input_json_delta) / _stop,
 * message_delta and message_stop. Errors use Anthropic's shape ({@link #errorBody}), also as an SSE error event
 * once a stream has begun. Thinking blocks carry an empty signature: nothing here signs reasoning.
 */
final class MessagesHandler {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final GenerationHandler generation;
    private final JsonFactory factory;
    private final String model;

    MessagesHandler(GenerationHandler generation, JsonFactory factory, String model) {
        this.generation = generation;
        this.factory = factory;
        this.model = model;
    }

    /**
     * Serves one request; returns the HTTP status it ended with. Errors before output are thrown. {@code client}
     * (null where not tracked) is watched for hanging up.
     */
    int serve(JsonNode body, ServerResponse res, long startNanos, GuardedSocket client) throws InterruptedException {
        ObjectNode chat = AnthropicRequests.toChat(body);
        boolean stream = chat.path("stream").asBoolean(false);
        chat.remove("stream");
        String id = GenerationHandler.newId("msg_");
        res.header("X-Request-Id", id);
        if (!stream) {
            Collected c = new Collected();
            GenerationHandler.Usage usage = generation.serveEvents(chat, id, startNanos, client, c);
            ObjectNode message = JSON.createObjectNode().put("id", id).put("type", "message").put("role", "assistant").put("model", model);
            message.set("content", c.blocks);
            message.put("stop_reason", c.stopReason).put("stop_sequence", c.stopSequence);
            message.putObject("usage").put("input_tokens", usage.promptTokens() - usage.cachedTokens())
                    .put("cache_read_input_tokens", usage.cachedTokens()).put("output_tokens", usage.completionTokens());
            try {
                OpenAiServer.sendJson(res, 200, JSON.writeValueAsBytes(message));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return 200;
        }
        Streamed s = new Streamed(id, res);
        try {
            generation.serveEvents(chat, id, startNanos, client, s);
            return 200;
        } catch (ApiException e) {
            if (!s.started) throw e;
            s.error(e);
            return e.status();
        } catch (GenerationHandler.ClientGoneException e) {
            return GenerationHandler.CLIENT_CLOSED;
        }
    }

    /** Anthropic's error body: {@code {"type": "error", "error": {"type", "message"}}}, its type from the status. */
    static byte[] errorBody(JsonFactory factory, ApiException e) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = factory.createGenerator(out)) {
            writeError(g, e);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return out.toByteArray();
    }

    private static void writeError(JsonGenerator g, ApiException e) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "error");
        g.writeObjectFieldStart("error");
        g.writeStringField("type", switch (e.status()) {
            case 400, 413 -> e.status() == 413 ? "request_too_large" : "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 429 -> "rate_limit_error";
            case 503 -> "overloaded_error";
            default -> "api_error";
        });
        g.writeStringField("message", e.getMessage());
        g.writeEndObject();
        g.writeEndObject();
    }

    private void messageHead(JsonGenerator g, String id) throws IOException {
        g.writeStringField("id", id);
        g.writeStringField("type", "message");
        g.writeStringField("role", "assistant");
        g.writeStringField("model", model);
    }

    /** Anthropic's stop reason for a choice that ended with OpenAI's {@code finishReason}. */
    private static String stopReason(ChoiceDecoder d, ChoiceOutput o, String finishReason) {
        if (finishReason.equals("length")) return "max_tokens";
        if (o.calledTools()) return "tool_use";
        return d.stopString() != null ? "stop_sequence" : "end_turn";
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    /** The whole message for a non-streaming response, built once its choice ended. */
    private static final class Collected implements GenerationHandler.GenerationEvents {
        final com.fasterxml.jackson.databind.node.ArrayNode blocks = JSON.createArrayNode();
        String stopReason;
        String stopSequence;

        @Override
        public ChoiceOutput.Listener step(ChoiceDecoder decoder) {
            return ChoiceOutput.IGNORE;
        }

        @Override
        public void stepDone() {
        }

        @Override
        public void finished(ChoiceDecoder d, ChoiceOutput o, String finishReason) {
            stopReason = stopReason(d, o, finishReason);
            stopSequence = stopReason.equals("stop_sequence") ? d.stopString() : null;
            if (!o.reasoning().isEmpty()) blocks.addObject().put("type", "thinking").put("thinking", o.reasoning()).put("signature", "");
            if (!o.content().isEmpty() || !o.calledTools()) blocks.addObject().put("type", "text").put("text", o.content());
            for (ChoiceOutput.Call call : o.calls()) {
                JsonNode input = parseInput(call.arguments());
                if (input == null) continue; // cut short by max_tokens: there is no whole input to give
                blocks.addObject().put("type", "tool_use").put("id", call.id()).put("name", call.name()).set("input", input);
            }
        }
    }

    /** A call's arguments as the object Anthropic's {@code input} is, or null when they are not one. */
    private static JsonNode parseInput(String arguments) {
        try {
            JsonNode n = JSON.readTree(arguments.isBlank() ? "{}" : arguments);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Writes the SSE events of a streaming response as generation goes. */
    private final class Streamed implements GenerationHandler.GenerationEvents, ChoiceOutput.Listener {
        private final String id;
        private final ServerResponse res;
        private OutputStream out;
        boolean started;
        /** The last content block's index and kind, and whether it is still open. */
        private int block = -1;
        private String kind;
        private boolean blockOpen;

        Streamed(String id, ServerResponse res) {
            this.id = id;
            this.res = res;
        }

        @Override
        public ChoiceOutput.Listener step(ChoiceDecoder d) {
            if (!started) {
                started = true;
                out = OpenAiServer.startEventStream(res);
                event("message_start", g -> {
                    g.writeObjectFieldStart("message");
                    messageHead(g, id);
                    g.writeArrayFieldStart("content");
                    g.writeEndArray();
                    g.writeNullField("stop_reason");
                    g.writeNullField("stop_sequence");
                    g.writeObjectFieldStart("usage");
                    g.writeNumberField("input_tokens", d.promptTokens() - d.cachedTokens());
                    g.writeNumberField("cache_read_input_tokens", d.cachedTokens());
                    g.writeNumberField("output_tokens", 0);
                    g.writeEndObject();
                    g.writeEndObject();
                });
            }
            return this;
        }

        @Override
        public void reasoning(String text) {
            open("thinking", g -> {
                g.writeStringField("type", "thinking");
                g.writeStringField("thinking", "");
                g.writeStringField("signature", "");
            });
            delta("thinking_delta", "thinking", text);
        }

        @Override
        public void content(String text) {
            open("text", g -> {
                g.writeStringField("type", "text");
                g.writeStringField("text", "");
            });
            delta("text_delta", "text", text);
        }

        @Override
        public void toolCallBegin(int index, String callId, String name) {
            open("tool_use", g -> {
                g.writeStringField("type", "tool_use");
                g.writeStringField("id", callId);
                g.writeStringField("name", name);
                g.writeObjectFieldStart("input");
                g.writeEndObject();
            });
        }

        @Override
        public void toolCallArguments(int index, String fragment) {
            delta("input_json_delta", "partial_json", fragment);
        }

        @Override
        public void stepDone() {
            try {
                if (out != null) out.flush();
            } catch (IOException | RuntimeException e) {
                throw new GenerationHandler.ClientGoneException(e);
            }
        }

        @Override
        public void finished(ChoiceDecoder d, ChoiceOutput o, String finishReason) {
            close();
            String reason = stopReason(d, o, finishReason);
            event("message_delta", g -> {
                g.writeObjectFieldStart("delta");
                g.writeStringField("stop_reason", reason);
                g.writeStringField("stop_sequence", reason.equals("stop_sequence") ? d.stopString() : null);
                g.writeEndObject();
                g.writeObjectFieldStart("usage");
                g.writeNumberField("output_tokens", d.completionTokens());
                g.writeEndObject();
            });
            event("message_stop", g -> { });
            stepDone();
        }

        void error(ApiException e) {
            try {
                out.write("event: error\ndata: ".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                out.write(errorBody(factory, e));
                out.write("\n\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException | RuntimeException ignored) {
                // the client is gone too
            }
        }

        /**
         * Opens a block of {@code newKind} unless one of that kind is open already (closing the open one first); a
         * tool call always opens a block of its own.
         */
        private void open(String newKind, Body start) {
            if (blockOpen && newKind.equals(kind) && !newKind.equals("tool_use")) return;
            close();
            block++;
            blockOpen = true;
            kind = newKind;
            int index = block;
            event("content_block_start", g -> {
                g.writeNumberField("index", index);
                g.writeObjectFieldStart("content_block");
                start.write(g);
                g.writeEndObject();
            });
        }

        private void close() {
            if (!blockOpen) return;
            blockOpen = false;
            int index = block;
            event("content_block_stop", g -> g.writeNumberField("index", index));
        }

        private void delta(String type, String field, String text) {
            if (text.isEmpty()) return;
            int index = block;
            event("content_block_delta", g -> {
                g.writeNumberField("index", index);
                g.writeObjectFieldStart("delta");
                g.writeStringField("type", type);
                g.writeStringField(field, text);
                g.writeEndObject();
            });
        }

        private void event(String name, Body body) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
            try (JsonGenerator g = factory.createGenerator(buf)) {
                g.writeStartObject();
                g.writeStringField("type", name);
                body.write(g);
                g.writeEndObject();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            try {
                out.write(("event: " + name + "\ndata: ").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                buf.writeTo(out);
                out.write('\n');
                out.write('\n');
            } catch (IOException | RuntimeException e) {
                throw new GenerationHandler.ClientGoneException(e);
            }
        }
    }
}
