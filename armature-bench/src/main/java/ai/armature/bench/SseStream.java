package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
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
    private final StringBuilder text;

    private long startNanos;
    private long firstNanos = -1;
    private long lastNanos;
    private long completeNanos = -1;
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

    SseStream(ObjectMapper json, boolean keepText) {
        this.json = json;
        this.keepText = keepText;
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
        long now = System.nanoTime();
        if (streamError != null || !line.startsWith("data:")) {
            return; // blank separators, comments, event names
        }
        int from = line.length() > 5 && line.charAt(5) == ' ' ? 6 : 5;
        if (line.startsWith("[DONE]", from)) {
            done = true;
            return;
        }
        JsonNode n;
        try {
            n = json.readTree(line.substring(from));
        } catch (IOException e) {
            fail(ErrorKind.MALFORMED, "not JSON: " + abbreviate(line));
            return;
        }
        if (n == null || !n.isObject()) {
            fail(ErrorKind.MALFORMED, "not a JSON object: " + abbreviate(line));
            return;
        }
        JsonNode err = n.get("error");
        if (err != null && !err.isNull()) {
            fail(ErrorKind.STREAM_ERROR, err.isObject() ? err.path("message").asText(err.toString()) : err.asText());
            return;
        }
        JsonNode choices = n.get("choices");
        if (choices != null && choices.isArray() && !choices.isEmpty()) {
            String piece = content(choices.get(0));
            if (piece != null && !piece.isEmpty()) {
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
                if (keepText) {
                    text.append(piece);
                }
            }
        }
        JsonNode usage = n.get("usage");
        if (usage != null && usage.isObject()) {
            promptTokens = usage.path("prompt_tokens").asInt(-1);
            completionTokens = usage.path("completion_tokens").asInt(-1);
            JsonNode cached = usage.path("prompt_tokens_details").path("cached_tokens");
            if (cached.isNumber()) {
                cachedTokens = cached.asInt();
            }
        }
    }

    private static String content(JsonNode choice) {
        JsonNode t = choice.get("text");
        if (t != null && t.isTextual()) {
            return t.asText();
        }
        JsonNode delta = choice.get("delta");
        if (delta == null) {
            return null;
        }
        JsonNode c = delta.get("content");
        if (c != null && c.isTextual() && !c.asText().isEmpty()) {
            return c.asText();
        }
        // Reasoning models stream their thinking first; those are output tokens too.
        JsonNode r = delta.get("reasoning_content");
        return r != null && r.isTextual() ? r.asText() : null;
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
        completeNanos = System.nanoTime();
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
