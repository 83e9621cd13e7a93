package ai.armature.upstream;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.TokenLogprob;
import ai.armature.protocol.Usage;
import ai.armature.protocol.WorkerLostException;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One request's answer from an upstream, read on the consumer's thread: each streamed chunk's token ids become one
 * {@link GenerateOutput}; the finish (after the upstream's usage, which follows the finish reason in OpenAI streams)
 * ends it. A stop or end-of-generation token is not passed on unless the request asks to include it: engines such
 * as vLLM return it among the ids, Armature's workers do not. A connection that breaks, or an upstream found
 * unhealthy, makes {@link #next()} throw {@link WorkerLostException}; closing the stream (a cancel) closes the
 * upstream connection and ends it as CANCELLED.
 */
final class UpstreamStream implements GenerationStream {

    private final UpstreamEngine engine;
    private final GenerateRequest request;
    private final InputStream body;
    private final SseReader reader;
    private final boolean nativeLlamaCpp;
    private final boolean wantLogprobs;
    private final int maxTokens;
    private final int prior;
    /** Tokens read but not passed on yet (a possible stop token, or the tokens of the finishing chunk). */
    private int[] pending = new int[16];
    private final List<TokenLogprob> pendingLogprobs = new ArrayList<>();
    private int pendingCount;
    private int emitted;
    private boolean stopTokenDropped;
    private FinishReason finish;
    private int upstreamCompletion = -1;
    private int cached = -1;
    private boolean ended;
    private volatile boolean cancelled;
    private volatile long lastActivity = System.nanoTime();
    private volatile String lost;

    UpstreamStream(UpstreamEngine engine, GenerateRequest request, InputStream body, boolean nativeLlamaCpp) {
        this.engine = engine;
        this.request = request;
        this.body = body;
        this.reader = new SseReader(body);
        this.nativeLlamaCpp = nativeLlamaCpp;
        this.wantLogprobs = request.sampling().logprobs() >= 0;
        this.maxTokens = request.stop().maxTokens();
        this.prior = request.priorGeneratedTokens();
    }

    @Override
    public String requestId() {
        return request.requestId();
    }

    @Override
    public GenerateOutput next() throws InterruptedException {
        if (ended) return null;
        while (true) {
            if (cancelled) return end(FinishReason.CANCELLED, null);
            if (lost != null) throw lostException(lost, null);
            String data;
            try {
                data = reader.next();
            } catch (IOException e) {
                return broken(e);
            }
            lastActivity = System.nanoTime();
            engine.activity();
            if (data == null || data.equals("[DONE]")) {
                if (finish != null) return end(finish, null);
                if (cancelled) return end(FinishReason.CANCELLED, null);
                if (lost != null) throw lostException(lost, null);
                engine.suspect();
                throw lostException("the upstream's stream ended before the request finished", null);
            }
            Chunk c;
            try {
                JsonNode n = UpstreamHttp.JSON.readTree(data);
                c = nativeLlamaCpp ? Chunk.llamaCpp(n) : Chunk.openAi(n);
            } catch (IOException e) {
                return end(FinishReason.ERROR, "the upstream sent an unreadable chunk: " + e.getMessage());
            }
            if (c.error() != null) return end(FinishReason.ERROR, "the upstream failed the request: " + c.error());
            if (c.hasUsage()) {
                if (c.completionTokens() >= 0) upstreamCompletion = c.completionTokens();
                if (c.cachedTokens() >= 0) cached = c.cachedTokens();
            }
            int[] ids = c.tokenIds();
            // A chunk without ids (a text-only upstream, or one that omitted them) is re-tokenized.
            if (ids == null) ids = c.text().isEmpty() ? new int[0] : engine.encoder().encode(c.text());
            List<TokenLogprob> lps = wantLogprobs ? c.logprobs() : null;
            if (wantLogprobs && (lps == null || lps.size() != ids.length)) {
                if (ids.length > 0) return end(FinishReason.ERROR, "the upstream returned tokens without their logprobs");
                lps = List.of();
            }
            if (c.finishReason() != null) finish = c.finishReason().equals("length") ? FinishReason.LENGTH : FinishReason.STOP;
            int[] out = accept(ids, lps);
            if (finish != null) {
                if (finish == FinishReason.STOP) dropTrailingStopToken();
                // Some servers (ik_llama.cpp) say "stop" when the token limit ends a request: what ended it was the limit.
                if (finish == FinishReason.STOP && !stopTokenDropped && emitted + pendingCount >= maxTokens) finish = FinishReason.LENGTH;
                if (nativeLlamaCpp) return end(finish, null);
                continue; // the usage chunk and [DONE] follow
            }
            if (out.length > 0) return output(out, null, null);
        }
    }

    /** Adds ids to what was read; returns those that can be passed on now (all but a trailing stop token). */
    private int[] accept(int[] ids, List<TokenLogprob> lps) {
        for (int i = 0; i < ids.length; i++) {
            if (emitted + pendingCount >= maxTokens) break;
            if (pendingCount == pending.length) pending = Arrays.copyOf(pending, pendingCount * 2);
            pending[pendingCount++] = ids[i];
            if (wantLogprobs) pendingLogprobs.add(lps.get(i));
        }
        if (finish != null) return new int[0];
        int keep = pendingCount > 0 && isStop(pending[pendingCount - 1]) ? 1 : 0;
        int n = pendingCount - keep;
        if (n <= 0) return new int[0];
        int[] out = Arrays.copyOf(pending, n);
        System.arraycopy(pending, n, pending, 0, keep);
        pendingCount = keep;
        return out;
    }

    private boolean isStop(int token) {
        return !request.stop().includeStopToken() && (request.stop().isStopToken(token)
                || !request.stop().ignoreEos() && engine.config().isEndOfGeneration(token));
    }

    private void dropTrailingStopToken() {
        if (pendingCount > 0 && isStop(pending[pendingCount - 1])) {
            stopTokenDropped = true;
            pendingCount--;
            if (wantLogprobs) pendingLogprobs.removeLast();
        }
    }

    private GenerateOutput output(int[] ids, FinishReason reason, String error) {
        List<TokenLogprob> lps = null;
        if (wantLogprobs) {
            lps = new ArrayList<>(pendingLogprobs.subList(0, Math.min(ids.length, pendingLogprobs.size())));
            pendingLogprobs.subList(0, lps.size()).clear();
        }
        emitted += ids.length;
        int completion = Math.max(prior + emitted, upstreamCompletion >= 0 ? prior + upstreamCompletion : 0);
        // Upstreams report their prefix-cache hits only at the end: until then no usage (a consumer such as the
        // migrating engine keeps the first usage it sees as the request's cached-token count).
        Usage usage = reason == null && cached < 0 ? null : new Usage(request.originalPromptLength(), Math.max(0, cached), completion);
        return new GenerateOutput(request.requestId(), ids, lps, reason, usage, error);
    }

    /** The final output: whatever is pending (bar a stop token), the finish reason, and the usage. */
    private GenerateOutput end(FinishReason reason, String error) {
        ended = true;
        int[] rest = Arrays.copyOf(pending, pendingCount);
        pendingCount = 0;
        if (reason == FinishReason.CANCELLED || reason == FinishReason.ERROR) {
            rest = new int[0];
            pendingLogprobs.clear();
        }
        closeBody();
        engine.ended(this);
        return output(rest, reason, error);
    }

    private GenerateOutput broken(IOException e) {
        if (cancelled) return end(FinishReason.CANCELLED, null);
        if (lost != null) throw lostException(lost, e);
        engine.suspect();
        throw lostException("the connection to the upstream broke: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
    }

    private WorkerLostException lostException(String why, Throwable cause) {
        ended = true;
        closeBody();
        engine.ended(this);
        return new WorkerLostException(engine.workerId(), "upstream " + engine.workerId() + ": " + why, cause);
    }

    /** When this stream last received data (System.nanoTime). */
    long lastActivity() {
        return lastActivity;
    }

    /** Fails the request from another thread (the upstream was found unhealthy): the reader throws WorkerLostException. */
    void lose(String reason) {
        lost = reason;
        closeBody();
    }

    /** Cancels: closes the upstream connection; the reader ends with CANCELLED. */
    @Override
    public void close() {
        if (ended && !cancelled) {
            engine.ended(this);
            return;
        }
        cancelled = true;
        closeBody();
        engine.ended(this);
    }

    private void closeBody() {
        try {
            body.close();
        } catch (IOException | RuntimeException ignored) {
            // closing a broken connection
        }
    }
}
