package ai.armature.frontend;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes the JSON bodies of the OpenAI API (chunks, whole responses, usage, logprobs, errors) straight into a
 * reusable byte buffer with Jackson's streaming generator, so a streamed token costs one small buffer write and no
 * object tree. One instance per request (not thread-safe); {@link #bytes()} and {@link #size()} expose the result.
 */
final class JsonBodies {

    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final com.fasterxml.jackson.core.io.JsonStringEncoder ENCODER =
            com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance();
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    /** A ByteArrayOutputStream whose array can be written out without a copy. */
    private static final class Buffer extends ByteArrayOutputStream {
        Buffer() {
            super(512);
        }

        byte[] array() {
            return buf;
        }
    }

    private final JsonFactory factory;
    private final Buffer buf = new Buffer();
    private final Endpoint endpoint;
    private final String id;
    private final long created;
    private final String model;
    private JsonGenerator eventGenerator;
    private byte[] textChunkPrefix;
    private byte[] textChunkAfterIndex;
    private byte[] textChunkSuffix;

    JsonBodies(JsonFactory factory, Endpoint endpoint, String id, long created, String model) {
        this.factory = factory;
        this.endpoint = endpoint;
        this.id = id;
        this.created = created;
        this.model = model;
    }

    byte[] bytes() {
        return buf.array();
    }

    int size() {
        return buf.size();
    }

    // ---- SSE events ----

    /** A streamed chunk for one choice: the role (first chat chunk), text, logprobs and/or finish reason. */
    void chunk(int index, boolean role, CharSequence text, List<ChoiceDecoder.LogprobEntry> logprobs, String finishReason,
               boolean usageField) {
        chunk(index, role, text, logprobs, finishReason, usageField, null, null);
    }

    /** A chunk that also carries the choice's new token ids and, on its first chunk, its prompt's (return_token_ids). */
    void chunk(int index, boolean role, CharSequence text, List<ChoiceDecoder.LogprobEntry> logprobs, String finishReason,
               boolean usageField, int[] tokenIds, int[] promptTokenIds) {
        if (!role && finishReason == null && (logprobs == null || logprobs.isEmpty()) && tokenIds == null && promptTokenIds == null) {
            textChunk(index, text, usageField);
            return;
        }
        try (JsonGenerator g = event()) {
            header(g, endpoint.chunkObject);
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", index);
            if (endpoint == Endpoint.CHAT) {
                g.writeObjectFieldStart("delta");
                if (role) g.writeStringField("role", "assistant");
                if (role || !text.isEmpty()) g.writeStringField("content", text.toString());
                g.writeEndObject();
            } else {
                g.writeStringField("text", text.toString());
            }
            g.writeFieldName("logprobs");
            if (logprobs == null || logprobs.isEmpty()) g.writeNull();
            else writeLogprobs(g, logprobs);
            g.writeStringField("finish_reason", finishReason);
            writeIds(g, "prompt_token_ids", promptTokenIds);
            writeIds(g, "token_ids", tokenIds);
            g.writeEndObject();
            g.writeEndArray();
            if (usageField) g.writeNullField("usage");
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        endEvent();
    }

    /** A chat chunk carrying reasoning text ({@code delta.reasoning_content}, as vLLM and DeepSeek send it). */
    void reasoningChunk(int index, String text, boolean usageField) {
        try (JsonGenerator g = event()) {
            chunkStart(g, index);
            g.writeStringField("reasoning_content", text);
            chunkEnd(g, usageField);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        endEvent();
    }

    /**
     * A chat chunk carrying part of tool call {@code call}: its first chunk has the id, type and function name
     * (and empty arguments), later ones argument fragments only, as OpenAI streams them.
     */
    void toolCallChunk(int index, int call, String callId, String name, String arguments, boolean usageField) {
        try (JsonGenerator g = event()) {
            chunkStart(g, index);
            g.writeArrayFieldStart("tool_calls");
            g.writeStartObject();
            g.writeNumberField("index", call);
            if (callId != null) {
                g.writeStringField("id", callId);
                g.writeStringField("type", "function");
            }
            g.writeObjectFieldStart("function");
            if (name != null) g.writeStringField("name", name);
            g.writeStringField("arguments", arguments);
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndArray();
            chunkEnd(g, usageField);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        endEvent();
    }

    private void chunkStart(JsonGenerator g, int index) throws IOException {
        header(g, endpoint.chunkObject);
        g.writeArrayFieldStart("choices");
        g.writeStartObject();
        g.writeNumberField("index", index);
        g.writeObjectFieldStart("delta");
    }

    private static void chunkEnd(JsonGenerator g, boolean usageField) throws IOException {
        g.writeEndObject();
        g.writeNullField("logprobs");
        g.writeNullField("finish_reason");
        g.writeEndObject();
        g.writeEndArray();
        if (usageField) g.writeNullField("usage");
        g.writeEndObject();
    }

    /**
     * The per-token hot path: a text-only chunk assembled from bytes fixed for the request and the JSON-escaped
     * text, with no generator work. Produces exactly what {@link #chunk} would.
     */
    private void textChunk(int index, CharSequence text, boolean usageField) {
        if (textChunkPrefix == null) {
            String head = "data: {\"id\":\"" + escape(id) + "\",\"object\":\"" + endpoint.chunkObject + "\",\"created\":" + created
                    + ",\"model\":\"" + escape(model) + "\",\"system_fingerprint\":null,\"choices\":[{\"index\":";
            textChunkPrefix = head.getBytes(StandardCharsets.UTF_8);
            textChunkAfterIndex = (endpoint == Endpoint.CHAT ? ",\"delta\":{\"content\":\"" : ",\"text\":\"")
                    .getBytes(StandardCharsets.UTF_8);
            textChunkSuffix = ((endpoint == Endpoint.CHAT ? "\"}" : "\"") + ",\"logprobs\":null,\"finish_reason\":null}]"
                    + (usageField ? ",\"usage\":null" : "") + "}\n\n").getBytes(StandardCharsets.UTF_8);
        }
        buf.reset();
        buf.writeBytes(textChunkPrefix);
        writeInt(index);
        buf.writeBytes(textChunkAfterIndex);
        buf.writeBytes(ENCODER.quoteAsUTF8(text.toString()));
        buf.writeBytes(textChunkSuffix);
    }

    private void writeInt(int v) {
        if (v >= 0 && v < 10) {
            buf.write('0' + v);
        } else {
            buf.writeBytes(Integer.toString(v).getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static String escape(String s) {
        return new String(ENCODER.quoteAsString(s));
    }

    /**
     * The final usage chunk of {@code stream_options.include_usage}: no choices, the whole request's usage;
     * {@code reasoning} < 0: completions, whose reasoning tokens are 0.
     */
    void usageChunk(int prompt, int cached, int completion, int reasoning) {
        try (JsonGenerator g = event()) {
            header(g, endpoint.chunkObject);
            g.writeArrayFieldStart("choices");
            g.writeEndArray();
            writeUsage(g, prompt, cached, completion, reasoning);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        endEvent();
    }

    /** An error event sent mid-stream, after the 200 status is already out. */
    void errorEvent(ApiException error) {
        buf.reset();
        buf.writeBytes(DATA);
        writeError(error);
        endEvent();
    }

    void done() {
        buf.reset();
        buf.writeBytes("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
    }

    // ---- whole bodies ----

    /**
     * A non-streaming response with every choice's text (reasoning and tool calls), finish reason and logprobs, and
     * the usage ({@code reasoning} < 0: completions, whose reasoning tokens are 0).
     */
    void response(List<ChoiceResult> choices, int prompt, int cached, int completion, int reasoning) {
        buf.reset();
        try (JsonGenerator g = factory.createGenerator(buf)) {
            header(g, endpoint.object);
            g.writeArrayFieldStart("choices");
            for (ChoiceResult c : choices) {
                g.writeStartObject();
                g.writeNumberField("index", c.index());
                if (endpoint == Endpoint.CHAT) {
                    g.writeObjectFieldStart("message");
                    g.writeStringField("role", "assistant");
                    boolean calls = c.toolCalls() != null && !c.toolCalls().isEmpty();
                    // OpenAI sends null content with tool calls when the model wrote nothing else.
                    g.writeStringField("content", calls && c.text().isEmpty() ? null : c.text());
                    if (c.reasoning() != null) g.writeStringField("reasoning_content", c.reasoning());
                    if (calls) {
                        g.writeArrayFieldStart("tool_calls");
                        for (ChoiceOutput.Call call : c.toolCalls()) {
                            g.writeStartObject();
                            g.writeStringField("id", call.id());
                            g.writeStringField("type", "function");
                            g.writeObjectFieldStart("function");
                            g.writeStringField("name", call.name());
                            g.writeStringField("arguments", call.arguments());
                            g.writeEndObject();
                            g.writeEndObject();
                        }
                        g.writeEndArray();
                    }
                    g.writeNullField("refusal");
                    g.writeEndObject();
                } else {
                    g.writeStringField("text", c.text());
                }
                g.writeFieldName("logprobs");
                if (c.logprobs() == null) g.writeNull();
                else writeLogprobs(g, c.logprobs());
                g.writeStringField("finish_reason", c.finishReason());
                writeIds(g, "prompt_token_ids", c.promptTokenIds());
                writeIds(g, "token_ids", c.tokenIds());
                if (c.promptLogprobs() != null) writePromptLogprobs(g, c.promptLogprobs());
                g.writeEndObject();
            }
            g.writeEndArray();
            writeUsage(g, prompt, cached, completion, reasoning);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One choice of a non-streaming response; {@code logprobs} and the token ids null when not requested,
     * {@code reasoning} null when none was split off, {@code toolCalls} empty or null when it called none.
     */
    record ChoiceResult(int index, String text, String finishReason, List<ChoiceDecoder.LogprobEntry> logprobs,
                        int[] tokenIds, int[] promptTokenIds, List<ChoiceDecoder.PromptPosition> promptLogprobs, String reasoning,
                        List<ChoiceOutput.Call> toolCalls) {
    }

    /** vLLM's prompt_logprobs: per prompt token null (the first) or {id: {logprob, rank, decoded_token}}. */
    private static void writePromptLogprobs(JsonGenerator g, List<ChoiceDecoder.PromptPosition> positions) throws IOException {
        g.writeArrayFieldStart("prompt_logprobs");
        for (ChoiceDecoder.PromptPosition p : positions) {
            if (p == null) {
                g.writeNull();
                continue;
            }
            g.writeStartObject();
            for (int k = 0; k < p.ids().length; k++) {
                g.writeObjectFieldStart(Integer.toString(p.ids()[k]));
                g.writeNumberField("logprob", finite(p.logprobs()[k]));
                if (p.ranks()[k] > 0) g.writeNumberField("rank", p.ranks()[k]);
                else g.writeNullField("rank");
                g.writeStringField("decoded_token", p.decoded()[k]);
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeIds(JsonGenerator g, String field, int[] ids) throws IOException {
        if (ids == null) return;
        g.writeArrayFieldStart(field);
        for (int id : ids) g.writeNumber(id);
        g.writeEndArray();
    }

    /** The OpenAI error body. */
    void error(ApiException e) {
        buf.reset();
        writeError(e);
    }

    static byte[] errorBody(JsonFactory factory, ApiException e) {
        JsonBodies b = new JsonBodies(factory, Endpoint.CHAT, "", 0, "");
        b.error(e);
        return java.util.Arrays.copyOf(b.bytes(), b.size());
    }

    // ---- parts ----

    private void writeError(ApiException e) {
        try (JsonGenerator g = factory.createGenerator(buf)) {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", e.getMessage());
            g.writeStringField("type", e.type());
            g.writeStringField("param", e.param());
            g.writeStringField("code", e.code());
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * Starts an SSE event: the buffer holds "data: " and the returned generator (one per request, reused for every
     * chunk so a token does not allocate generator buffers) writes after it. Closing the returned view flushes.
     */
    private JsonGenerator event() throws IOException {
        if (eventGenerator == null) {
            eventGenerator = factory.createGenerator(buf);
            eventGenerator.setRootValueSeparator(null);
            eventGenerator.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        }
        buf.reset();
        buf.writeBytes(DATA);
        return new FlushOnClose(eventGenerator);
    }

    /** A view of the shared generator whose close() only flushes, so try-with-resources works per chunk. */
    private static final class FlushOnClose extends com.fasterxml.jackson.core.util.JsonGeneratorDelegate {
        FlushOnClose(JsonGenerator d) {
            super(d, false);
        }

        @Override
        public void close() throws IOException {
            delegate.flush();
        }
    }

    private void endEvent() {
        buf.writeBytes(EVENT_END);
    }

    private void header(JsonGenerator g, String object) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", id);
        g.writeStringField("object", object);
        g.writeNumberField("created", created);
        g.writeStringField("model", model);
        g.writeNullField("system_fingerprint");
    }

    private static void writeUsage(JsonGenerator g, int prompt, int cached, int completion, int reasoning) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeObjectFieldStart("prompt_tokens_details");
        g.writeNumberField("cached_tokens", cached);
        g.writeEndObject();
        // The Java SDKs expect the details object; completions (reasoning < 0) have no reasoning parser: none.
        g.writeObjectFieldStart("completion_tokens_details");
        g.writeNumberField("reasoning_tokens", Math.max(0, reasoning));
        g.writeEndObject();
        g.writeEndObject();
    }

    private void writeLogprobs(JsonGenerator g, List<ChoiceDecoder.LogprobEntry> entries) throws IOException {
        g.writeStartObject();
        if (endpoint == Endpoint.CHAT) {
            g.writeArrayFieldStart("content");
            for (ChoiceDecoder.LogprobEntry e : entries) {
                g.writeStartObject();
                writeTokenFields(g, e.token(), e.bytes(), e.logprob());
                g.writeArrayFieldStart("top_logprobs");
                for (int i = 0; i < e.topTokens().length; i++) {
                    g.writeStartObject();
                    writeTokenFields(g, e.topTokens()[i], e.topBytes()[i], e.topLogprobs()[i]);
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNullField("refusal");
        } else {
            g.writeArrayFieldStart("tokens");
            for (ChoiceDecoder.LogprobEntry e : entries) g.writeString(e.token());
            g.writeEndArray();
            g.writeArrayFieldStart("token_logprobs");
            for (ChoiceDecoder.LogprobEntry e : entries) {
                if (Float.isNaN(e.logprob())) g.writeNull(); // an echoed prompt's first token: nothing precedes it
                else g.writeNumber(finite(e.logprob()));
            }
            g.writeEndArray();
            g.writeArrayFieldStart("top_logprobs");
            for (ChoiceDecoder.LogprobEntry e : entries) {
                if (e.topTokens() == null) {
                    g.writeNull();
                    continue;
                }
                g.writeStartObject();
                for (int i = 0; i < e.topTokens().length; i++) g.writeNumberField(e.topTokens()[i], finite(e.topLogprobs()[i]));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("text_offset");
            for (ChoiceDecoder.LogprobEntry e : entries) g.writeNumber(e.textOffset());
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    private static void writeTokenFields(JsonGenerator g, String token, byte[] bytes, float logprob) throws IOException {
        g.writeStringField("token", token);
        g.writeNumberField("logprob", finite(logprob));
        g.writeArrayFieldStart("bytes");
        for (byte b : bytes) g.writeNumber(b & 0xff);
        g.writeEndArray();
    }

    /** JSON has no infinity: a token the model rules out is reported as -9999, as vLLM does. */
    static float finite(float logprob) {
        return logprob < -9999f ? -9999f : logprob;
    }
}
