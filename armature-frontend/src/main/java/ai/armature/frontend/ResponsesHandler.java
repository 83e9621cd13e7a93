package ai.armature.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code POST /v1/responses}, OpenAI's Responses API, over the chat generation path ({@link ResponsesRequests}
 * translates the request): a response whose output items are a reasoning item (when a reasoning parser splits
 * reasoning off), a message with its output text, and function calls; status {@code completed}, or
 * {@code incomplete} with reason {@code max_output_tokens}; usage with cached and reasoning tokens. Streaming sends
 * the events response.created, response.in_progress, response.output_item.added / done,
 * response.content_part.added / done, response.output_text.delta / done, response.reasoning_text.delta / done,
 * response.function_call_arguments.delta / done, and response.completed (or response.incomplete), each with its
 * sequence number. Stored responses (the default, {@code store: true}) continue with {@code previous_response_id}
 * and are served by {@code GET /v1/responses/{id}}.
 */
final class ResponsesHandler {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final GenerationHandler generation;
    private final String model;
    private final ResponsesStore store;

    ResponsesHandler(GenerationHandler generation, String model, ResponsesStore store) {
        this.generation = generation;
        this.model = model;
        this.store = store;
    }

    /**
     * Serves one request; returns the HTTP status it ended with. Errors before output are thrown. {@code client}
     * (null where not tracked) is watched for hanging up.
     */
    int serve(JsonNode body, ServerResponse res, long startNanos, GuardedSocket client) throws InterruptedException {
        ResponsesRequests.Translated t = ResponsesRequests.toChat(body, store);
        boolean stream = RequestParser.bool(body, "stream", false);
        boolean keep = RequestParser.bool(body, "store", true);
        String id = GenerationHandler.newId("resp_");
        res.header("X-Request-Id", id);
        Output out = new Output(body, id, System.currentTimeMillis() / 1000, stream ? res : null);
        try {
            generation.serveEvents(t.chat(), id, startNanos, client, out);
        } catch (ApiException e) {
            if (!stream || !out.started) throw e; // nothing was sent yet: an HTTP error
            out.error(e);
            return e.status();
        } catch (GenerationHandler.ClientGoneException e) {
            return GenerationHandler.CLIENT_CLOSED;
        }
        byte[] response = bytes(out.response);
        if (keep) {
            ArrayNode conversation = t.conversation();
            conversation.add(out.assistantMessage());
            store.put(id, new ResponsesStore.Stored(conversation, response));
        }
        if (!stream) OpenAiServer.sendJson(res, 200, response);
        return 200;
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The response as it is generated: its output items (built as the parsed output arrives, for streaming and
     * whole bodies alike) and, when streaming, the events that describe each change.
     */
    private final class Output implements GenerationHandler.GenerationEvents, ChoiceOutput.Listener {
        private final JsonNode request;
        private final ServerResponse res;
        private OutputStream sse;
        final ObjectNode response;
        private final ArrayNode items;
        boolean started;
        private int sequence;
        /** The item being written (null: none), its kind and text so far. */
        private ObjectNode item;
        private String kind;
        private final StringBuilder text = new StringBuilder();
        private final StringBuilder assistantText = new StringBuilder();
        private final ArrayNode assistantCalls = JSON.createArrayNode();

        Output(JsonNode request, String id, long created, ServerResponse streamTo) {
            this.request = request;
            this.res = streamTo;
            response = JSON.createObjectNode().put("id", id).put("object", "response").put("created_at", created).put("status", "in_progress");
            response.putNull("error");
            response.putNull("incomplete_details");
            response.set("instructions", request.path("instructions").isTextual() ? request.get("instructions") : null);
            response.set("max_output_tokens", request.path("max_output_tokens").isInt() ? request.get("max_output_tokens") : null);
            response.put("model", model);
            items = response.putArray("output");
            response.put("parallel_tool_calls", request.path("parallel_tool_calls").asBoolean(true));
            response.set("previous_response_id", request.path("previous_response_id").isTextual() ? request.get("previous_response_id") : null);
            response.putObject("reasoning").putNull("effort").putNull("summary");
            response.put("store", request.path("store").asBoolean(true));
            response.put("temperature", request.path("temperature").isNumber() ? request.get("temperature").asDouble() : 1.0);
            ObjectNode text = response.putObject("text");
            if (request.path("text").path("format").isObject()) text.set("format", request.get("text").get("format"));
            else text.putObject("format").put("type", "text");
            response.set("tool_choice", RequestParser.present(request.get("tool_choice")) ? request.get("tool_choice") : JSON.getNodeFactory().textNode("auto"));
            response.set("tools", request.path("tools").isArray() ? request.get("tools") : JSON.createArrayNode());
            response.put("top_p", request.path("top_p").isNumber() ? request.get("top_p").asDouble() : 1.0);
            response.put("truncation", "disabled");
            response.putNull("usage");
            response.set("metadata", request.path("metadata").isObject() ? request.get("metadata") : JSON.createObjectNode());
        }

        @Override
        public ChoiceOutput.Listener step(ChoiceDecoder decoder) {
            if (!started) {
                started = true;
                if (res != null) {
                    sse = OpenAiServer.startEventStream(res);
                    event("response.created").set("response", response.deepCopy());
                    event("response.in_progress").set("response", response.deepCopy());
                }
            }
            return this;
        }

        @Override
        public void reasoning(String delta) {
            if (!"reasoning".equals(kind)) {
                open("reasoning", JSON.createObjectNode().put("id", GenerationHandler.newId("rs_")).put("type", "reasoning"));
                item.putArray("summary");
                item.putArray("content");
                added();
            }
            text.append(delta);
            ObjectNode e = event("response.reasoning_text.delta");
            if (e != null) e.put("item_id", item.get("id").asText()).put("output_index", items.size()).put("content_index", 0).put("delta", delta);
        }

        @Override
        public void content(String delta) {
            if (!"message".equals(kind)) {
                open("message", JSON.createObjectNode().put("id", GenerationHandler.newId("msg_")).put("type", "message").put("status", "in_progress")
                        .put("role", "assistant"));
                item.putArray("content");
                added();
                ObjectNode e = event("response.content_part.added");
                if (e != null) e.put("item_id", item.get("id").asText()).put("output_index", items.size()).put("content_index", 0)
                        .set("part", textPart(""));
            }
            if (delta.isEmpty()) return;
            text.append(delta);
            assistantText.append(delta);
            ObjectNode e = event("response.output_text.delta");
            if (e != null) {
                e.put("item_id", item.get("id").asText()).put("output_index", items.size()).put("content_index", 0).put("delta", delta);
                e.putArray("logprobs");
            }
        }

        @Override
        public void toolCallBegin(int index, String callId, String name) {
            open("function_call", JSON.createObjectNode().put("id", GenerationHandler.newId("fc_")).put("type", "function_call").put("status", "in_progress")
                    .put("arguments", "").put("call_id", callId).put("name", name));
            added();
        }

        @Override
        public void toolCallArguments(int index, String fragment) {
            text.append(fragment);
            ObjectNode e = event("response.function_call_arguments.delta");
            if (e != null) e.put("item_id", item.get("id").asText()).put("output_index", items.size()).put("delta", fragment);
        }

        @Override
        public void stepDone() {
            try {
                if (sse == null) return;
                flushPending();
                sse.flush();
            } catch (IOException | RuntimeException e) {
                throw new GenerationHandler.ClientGoneException(e);
            }
        }

        @Override
        public void finished(ChoiceDecoder d, ChoiceOutput o, String finishReason) {
            boolean cut = finishReason.equals("length");
            if (item == null && items.isEmpty()) content(""); // an empty answer is still a message
            close(cut ? "incomplete" : "completed");
            response.put("status", cut ? "incomplete" : "completed");
            if (cut) response.putObject("incomplete_details").put("reason", "max_output_tokens");
            ObjectNode usage = response.putObject("usage");
            int prompt = d.promptTokens();
            int completion = d.completionTokens();
            usage.put("input_tokens", prompt);
            usage.putObject("input_tokens_details").put("cached_tokens", d.cachedTokens());
            usage.put("output_tokens", completion);
            usage.putObject("output_tokens_details").put("reasoning_tokens", o.reasoningTokens());
            usage.put("total_tokens", prompt + completion);
            ObjectNode e = event(cut ? "response.incomplete" : "response.completed");
            if (e != null) e.set("response", response);
            stepDone();
        }

        /** The assistant turn this response adds to the conversation (its text and calls), for the store. */
        ObjectNode assistantMessage() {
            ObjectNode m = JSON.createObjectNode().put("role", "assistant").put("content", assistantText.toString());
            if (!assistantCalls.isEmpty()) m.set("tool_calls", assistantCalls);
            return m;
        }

        void error(ApiException e) {
            ObjectNode ev = event("error");
            if (ev == null) return;
            ev.put("code", e.code()).put("message", e.getMessage()).put("param", e.param());
            try {
                flushPending();
                sse.flush();
            } catch (IOException | RuntimeException ignored) {
                // the client is gone too
            }
        }

        private ObjectNode textPart(String s) {
            ObjectNode part = JSON.createObjectNode().put("type", "output_text").put("text", s);
            part.putArray("annotations");
            return part;
        }

        private void open(String newKind, ObjectNode newItem) {
            close("completed");
            kind = newKind;
            item = newItem;
            text.setLength(0);
        }

        private void added() {
            ObjectNode e = event("response.output_item.added");
            if (e != null) e.put("output_index", items.size()).set("item", item.deepCopy());
        }

        /** Completes the open item (its done events when streaming) and adds it to the output. */
        private void close(String status) {
            if (item == null) return;
            String id = item.get("id").asText();
            int index = items.size();
            String all = text.toString();
            switch (kind) {
                case "reasoning" -> {
                    ((ArrayNode) item.get("content")).addObject().put("type", "reasoning_text").put("text", all);
                    ObjectNode e = event("response.reasoning_text.done");
                    if (e != null) e.put("item_id", id).put("output_index", index).put("content_index", 0).put("text", all);
                }
                case "message" -> {
                    item.put("status", status);
                    ((ArrayNode) item.get("content")).add(textPart(all));
                    ObjectNode e = event("response.output_text.done");
                    if (e != null) {
                        e.put("item_id", id).put("output_index", index).put("content_index", 0).put("text", all);
                        e.putArray("logprobs");
                    }
                    e = event("response.content_part.done");
                    if (e != null) e.put("item_id", id).put("output_index", index).put("content_index", 0).set("part", textPart(all));
                }
                default -> {
                    item.put("status", status).put("arguments", all);
                    ObjectNode call = assistantCalls.addObject().put("id", item.get("call_id").asText()).put("type", "function");
                    call.putObject("function").put("name", item.get("name").asText()).put("arguments", all);
                    ObjectNode e = event("response.function_call_arguments.done");
                    if (e != null) e.put("item_id", id).put("output_index", index).put("arguments", all);
                }
            }
            items.add(item);
            ObjectNode e = event("response.output_item.done");
            if (e != null) e.put("output_index", index).set("item", item.deepCopy());
            item = null;
            kind = null;
        }

        /**
         * A new streaming event of {@code type} to fill in, written when the next event starts or the step ends;
         * null when not streaming.
         */
        private ObjectNode event(String type) {
            if (sse == null) return null;
            flushPending();
            pendingName = type;
            pending = JSON.createObjectNode().put("type", type).put("sequence_number", sequence++);
            return pending;
        }

        private String pendingName;
        private ObjectNode pending;

        private void flushPending() {
            if (pending == null) return;
            try {
                sse.write(("event: " + pendingName + "\ndata: ").getBytes(StandardCharsets.UTF_8));
                sse.write(JSON.writeValueAsBytes(pending));
                sse.write("\n\n".getBytes(StandardCharsets.UTF_8));
            } catch (IOException | RuntimeException e) {
                throw new GenerationHandler.ClientGoneException(e);
            }
            pending = null;
        }
    }
}
