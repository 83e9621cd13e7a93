package ai.armature.bench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Flow;

/**
 * Consumes one streamed response line by line as it arrives and timestamps it: the first non-empty content
 * chunk gives TTFT, every later one an inter-chunk gap; the last {@code usage} object gives token counts. A
 * non-200 status keeps the error body instead. All state is written by the HTTP client's callback thread before
 * the response future completes, and read by the requesting thread after it, so the future orders the accesses.
 */
final class SseStream implements Flow.Subscriber<String> {

    private final ObjectMapper json;
    private final boolean keepText;
    private final java.util.function.LongSupplier clock;
    private final StringBuilder text;

    private long startNanos;
    private long firstNanos = -1;
    private long lastNanos;
    private long completeNanos = -1;
    private boolean eventHadContent;
    private long[] gaps = new long[64];
    private int chunks;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private int cachedTokens = -1;
    private boolean done;
    private int status;
    private String errorBody;
    private ErrorKind streamError;
    private String streamErrorMessage;
    private volatile boolean timedOut;
    private volatile Flow.Subscription subscription;

    /** @param clock when each line arrives (the system clock, or a test's virtual time) */
    SseStream(ObjectMapper json, boolean keepText, java.util.function.LongSupplier clock) {
        this.json = json;
        this.keepText = keepText;
        this.clock = clock;
        this.text = keepText ? new StringBuilder() : null;
    }

    void start(long nanos) {
        startNanos = nanos;
    }

    HttpResponse.BodyHandler<Void> handler() {
        return info -> {
            status = info.statusCode();
            if (status != 200) {
                return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArray(), b -> {
                    errorBody = new String(b, StandardCharsets.UTF_8);
                    return null;
                });
            }
            return HttpResponse.BodySubscribers.fromLineSubscriber(this, s -> null, StandardCharsets.UTF_8, null);
        };
    }

    void timeOut() {
        timedOut = true;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
        long now = clock.getAsLong();
        if (streamError != null || !line.startsWith("data:")) {
            return; // blank separators, comments, event names
        }
        int from = line.length() > 5 && line.charAt(5) == ' ' ? 6 : 5;
        if (line.startsWith("[DONE]", from)) {
            done = true;
            return;
        }
        try (JsonParser p = json.getFactory().createParser(line.substring(from))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                fail(ErrorKind.MALFORMED, "not a JSON object: " + abbreviate(line));
                return;
            }
            eventHadContent = false;
            parseEvent(p, now);
        } catch (IOException e) {
            fail(ErrorKind.MALFORMED, "not JSON: " + abbreviate(line));
        }
    }

    /**
     * Walks one event object with the streaming parser, which allocates far less per token than a tree: only
     * choices[0] (text, delta.content, delta.reasoning_content), usage and error are looked at.
     */
    private void parseEvent(JsonParser p, long now) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "choices" -> {
                    if (value == JsonToken.START_ARRAY) {
                        boolean first = true;
                        JsonToken t;
                        while ((t = p.nextToken()) != JsonToken.END_ARRAY && t != null) {
                            if (first && t == JsonToken.START_OBJECT) {
                                parseChoice(p, now);
                            } else {
                                p.skipChildren();
                            }
                            first = false;
                        }
                    } else {
                        p.skipChildren();
                    }
                }
                case "usage" -> {
                    if (value == JsonToken.START_OBJECT) {
                        parseUsage(p);
                    } else {
                        p.skipChildren();
                    }
                }
                case "error" -> {
                    if (value == JsonToken.START_OBJECT) {
                        String message = "error";
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String f = p.currentName();
                            JsonToken v = p.nextToken();
                            if (f.equals("message") && v == JsonToken.VALUE_STRING) {
                                message = p.getText();
                            } else {
                                p.skipChildren();
                            }
                        }
                        fail(ErrorKind.STREAM_ERROR, message);
                        return;
                    } else if (value != JsonToken.VALUE_NULL) {
                        fail(ErrorKind.STREAM_ERROR, p.getText());
                        return;
                    }
                }
                default -> p.skipChildren();
            }
        }
    }

    private void parseChoice(JsonParser p, long now) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (field.equals("text") && value == JsonToken.VALUE_STRING) {
                content(p, now);
            } else if (field.equals("delta") && value == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    JsonToken v = p.nextToken();
                    // Reasoning models stream their thinking first; those are output tokens too.
                    if ((f.equals("content") || f.equals("reasoning_content")) && v == JsonToken.VALUE_STRING) {
                        content(p, now);
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
    }

    private void parseUsage(JsonParser p) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "prompt_tokens" -> promptTokens = value == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : -1;
                case "completion_tokens" -> completionTokens = value == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : -1;
                case "prompt_tokens_details" -> {
                    if (value == JsonToken.START_OBJECT) {
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String f = p.currentName();
                            JsonToken v = p.nextToken();
                            if (f.equals("cached_tokens") && v == JsonToken.VALUE_NUMBER_INT) {
                                cachedTokens = p.getIntValue();
                            } else {
                                p.skipChildren();
                            }
                        }
                    }
                }
                default -> p.skipChildren();
            }
        }
    }

    /** One content string of one event; empty strings (role-only chunks) are not tokens. */
    private void content(JsonParser p, long now) throws IOException {
        if (p.getTextLength() == 0) {
            return;
        }
        if (keepText) {
            text.append(p.getText());
        }
        if (eventHadContent) {
            return; // reasoning and content in one event are one chunk
        }
        eventHadContent = true;
        if (firstNanos < 0) {
            firstNanos = now;
        } else {
            if (chunks - 1 == gaps.length) {
                gaps = Arrays.copyOf(gaps, gaps.length * 2);
            }
            gaps[chunks - 1] = now - lastNanos;
        }
        lastNanos = now;
        chunks++;
    }

    private void fail(ErrorKind kind, String message) {
        streamError = kind;
        streamErrorMessage = message;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }

    @Override
    public void onError(Throwable t) {
        // Reported through the response future.
    }

    @Override
    public void onComplete() {
        completeNanos = clock.getAsLong();
    }

    OpenAiClient.Result finish(Throwable failure, long endNanos, RequestSpec spec, Endpoint endpoint, long index,
                               long runStartNanos, long scheduledOffsetNanos) {
        ErrorKind kind = null;
        String message = null;
        if (streamError != null) {
            kind = streamError;
            message = streamErrorMessage;
        } else if (timedOut) {
            kind = ErrorKind.TIMEOUT;
            message = "no complete response within the request timeout";
        } else if (failure != null) {
            kind = OpenAiClient.classify(failure);
            message = failure.getClass().getSimpleName() + (failure.getMessage() == null ? "" : ": " + failure.getMessage());
        } else if (status != 200) {
            kind = ErrorKind.HTTP_STATUS;
            message = errorBody == null ? "" : abbreviate(errorBody);
        } else if (!done && completionTokens < 0) {
            kind = ErrorKind.CONNECTION_DROPPED;
            message = "the stream ended before [DONE]";
        }
        if (kind == null && completeNanos > 0) {
            endNanos = completeNanos; // the end of the stream, not the wake-up of the waiting thread
        }
        int nGaps = Math.max(0, chunks - 1);
        RequestRecord r = new RequestRecord(index, spec.tag(), endpoint, startNanos - runStartNanos,
                scheduledOffsetNanos, firstNanos < 0 ? -1 : firstNanos - startNanos, endNanos - startNanos,
                Arrays.copyOf(gaps, nGaps), chunks, promptTokens, completionTokens, cachedTokens,
                spec.requestedPromptTokens(), spec.maxTokens(), kind, status, message);
        return new OpenAiClient.Result(r, keepText ? text.toString() : null);
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.length() <= 200 ? t : t.substring(0, 200) + "...";
    }
}
