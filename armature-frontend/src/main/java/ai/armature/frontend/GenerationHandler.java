package ai.armature.frontend;

import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Serves {@code /v1/chat/completions} and {@code /v1/completions} once the body is parsed: validates parameters,
 * builds the prompt tokens, checks them against the context, submits one engine request per choice, and writes
 * either an SSE stream (one {@code data:} event per step, flushed at once, then {@code data: [DONE]}) or one JSON
 * body. Whatever happens (client gone, engine error, drain) every engine request it submitted is closed and its
 * admission released before it returns.
 */
final class GenerationHandler {

    /** Thrown when a write to the client fails: the client went away. */
    static final class ClientGoneException extends RuntimeException {
        ClientGoneException(Throwable cause) {
            super("client disconnected", cause, false, false);
        }
    }

    /** Status recorded for requests whose client went away mid-response (nginx's convention). */
    static final int CLIENT_CLOSED = 499;

    private final FrontendConfig config;
    private final GenerationEngine engine;
    private final Tokenizer tokenizer;
    private final PromptBuilder prompts;
    private final Admission admission;
    private final FrontendMetrics metrics;
    private final JsonFactory jsonFactory;
    private final ThroughputLog throughput;
    private final int contextTokens;

    GenerationHandler(FrontendConfig config, GenerationEngine engine, Tokenizer tokenizer, PromptBuilder prompts,
                      Admission admission, FrontendMetrics metrics, JsonFactory jsonFactory, ThroughputLog throughput) {
        this.config = config;
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.prompts = prompts;
        this.admission = admission;
        this.metrics = metrics;
        this.jsonFactory = jsonFactory;
        this.throughput = throughput;
        this.contextTokens = config.maxContextTokens() > 0 ? config.maxContextTokens() : engine.maxContextTokens();
    }

    int contextTokens() {
        return contextTokens;
    }

    PromptBuilder prompts() {
        return prompts;
    }

    /**
     * Serves one request; returns the HTTP status it ended with (for metrics). Errors before output are thrown.
     * {@code client} (null where not tracked) says when the client hangs up: the request's engine requests are then
     * cancelled at once, streaming or not, and it ends as 499.
     */
    int serve(Endpoint endpoint, JsonNode body, ServerResponse res, long startNanos, GuardedSocket client) {
        checkModel(body);
        GenerationParams params = RequestParser.parse(body, endpoint, tokenizer.vocabSize());
        List<int[]> promptTokens = endpoint == Endpoint.CHAT ? List.of(prompts.chat(body)) : prompts.completion(body);
        String lengthParam = endpoint == Endpoint.CHAT ? "messages" : "prompt";
        int[] maxTokens = new int[promptTokens.size()];
        for (int i = 0; i < maxTokens.length; i++) {
            maxTokens[i] = maxTokens(promptTokens.get(i).length, params, lengthParam, endpoint);
            if (params.minTokens() > maxTokens[i]) {
                throw ApiException.badRequest("min_tokens", "min_tokens is " + params.minTokens() + " but the context leaves room for "
                        + maxTokens[i] + " tokens after the prompt; lower min_tokens");
            }
        }

        int sequences = promptTokens.size() * params.n();
        Admission.Ticket ticket = admission.admit(sequences);
        List<GenerationStream> streams = new ArrayList<>(sequences);
        OutputMux mux = null;
        String id = endpoint.idPrefix + randomId();
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable unwatch = client == null ? () -> { } : client.onGone(() -> {
            gone.set(true);
            for (String requestId : ticket.engineRequestIds) engine.cancel(requestId);
        });
        try {
            List<ChoiceDecoder> decoders = new ArrayList<>(sequences);
            for (int p = 0; p < promptTokens.size(); p++) {
                int[] tokens = promptTokens.get(p);
                // Only the user's stop ids: the worker knows its model's end-of-generation ids and applies ignore_eos.
                // max_tokens 0 (echo): the worker computes the prompt's logprobs with one token, which is not sent.
                StopConditions stop = new StopConditions(Math.max(1, maxTokens[p]), params.stopTokenIds(), params.ignoreEos(), false,
                        params.minTokens());
                for (int c = 0; c < params.n(); c++) {
                    int index = p * params.n() + c;
                    String requestId = id + "-" + index;
                    SamplingParams sampling = params.sampling().withSeed(params.sampling().seed() + c);
                    ticket.engineRequestIds.add(requestId);
                    streams.add(submit(new GenerateRequest(requestId, tokens, sampling, stop).withConstraint(params.constraint())));
                    decoders.add(new ChoiceDecoder(index, tokens, tokenizer, params.stop(), params.wantsLogprobs(),
                            params.tokensAsIds(), params.echo(), maxTokens[p] == 0));
                }
            }
            mux = new OutputMux(streams);
            JsonBodies json = new JsonBodies(jsonFactory, endpoint, id, System.currentTimeMillis() / 1000,
                    config.servedModelName());
            res.header("X-Request-Id", id);
            Run run = new Run(endpoint, params, streams, decoders, mux, json, startNanos, promptTokens);
            int status = params.stream() ? run.stream(res) : run.collect(res);
            // A response that went out whole is a 200 even if the client hung up right after reading it (an upstream
            // client closes on [DONE]); only one the departure cut short is the client's 499.
            return gone.get() && status != 200 ? CLIENT_CLOSED : status;
        } catch (ApiException e) {
            if (gone.get()) return CLIENT_CLOSED; // a cancellation because the client left is nothing to tell it
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the request was interrupted because the server is shutting down");
        } finally {
            unwatch.run();
            if (mux != null) mux.close();
            for (GenerationStream s : streams) s.close();
            admission.release(ticket);
        }
    }

    private GenerationStream submit(GenerateRequest request) {
        try {
            return engine.submit(request);
        } catch (RequestRejectedException e) {
            throw switch (e.reason()) {
                // A constraint the worker cannot compile is the response_format's fault.
                case INVALID -> ApiException.badRequest(request.constraint() != null ? "response_format" : null, e.getMessage());
                case PROMPT_TOO_LONG -> ApiException.badRequest("max_tokens", e.getMessage());
                case QUEUE_FULL -> ApiException.tooManyRequests(e.getMessage());
                case SHUTTING_DOWN -> ApiException.unavailable(e.getMessage());
            };
        }
    }

    private void checkModel(JsonNode body) {
        JsonNode model = body.get("model");
        if (!RequestParser.present(model)) return; // lenient: the one served model
        if (!model.isTextual()) throw ApiException.badRequest("model", "model must be a string");
        if (!model.asText().equals(config.servedModelName())) {
            throw ApiException.notFound("model", "model_not_found", "The model '" + model.asText()
                    + "' does not exist; this server serves '" + config.servedModelName() + "' (see GET /v1/models)");
        }
    }

    /** OpenAI's and vLLM's default max_tokens on /v1/completions (chat has none: up to the context). */
    static final int DEFAULT_COMPLETION_TOKENS = 16;

    private int maxTokens(int promptLength, GenerationParams params, String lengthParam, Endpoint endpoint) {
        if (promptLength >= contextTokens) {
            throw ApiException.badRequest(lengthParam, "This model's maximum context length is " + contextTokens
                    + " tokens, but the prompt has " + promptLength + " tokens; shorten the prompt");
        }
        if (params.maxTokens() == null) {
            int room = contextTokens - promptLength;
            return endpoint == Endpoint.COMPLETIONS ? Math.min(DEFAULT_COMPLETION_TOKENS, room) : room;
        }
        if ((long) promptLength + params.maxTokens() > contextTokens) {
            throw ApiException.badRequest("max_tokens", "This model's maximum context length is " + contextTokens
                    + " tokens, but you requested " + ((long) promptLength + params.maxTokens()) + " tokens ("
                    + promptLength + " in the prompt, " + params.maxTokens() + " for the completion); reduce the prompt or max_tokens");
        }
        return params.maxTokens();
    }

    private static String randomId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return HexFormat.of().toHexDigits(r.nextLong()) + HexFormat.of().toHexDigits(r.nextInt());
    }

    /** The state of one request while its outputs are read: choices, timing, and the writing of results. */
    private final class Run {
        private final Endpoint endpoint;
        private final GenerationParams params;
        private final List<GenerationStream> streams;
        private final List<ChoiceDecoder> decoders;
        private final OutputMux mux;
        private final JsonBodies json;
        private final long startNanos;
        private final long[] lastTokenNanos;
        private final List<int[]> promptTokens;
        /** return_token_ids: whether a choice's prompt ids went out (with its first chunk). */
        private final boolean[] promptIdsSent;
        /** echo: whether a choice's prompt went out (its first chunk). */
        private final boolean[] echoSent;
        /** Whether a choice's computed prompt tokens went into the throughput log. */
        private final boolean[] promptCounted;
        private boolean firstTokenSeen;

        Run(Endpoint endpoint, GenerationParams params, List<GenerationStream> streams, List<ChoiceDecoder> decoders,
            OutputMux mux, JsonBodies json, long startNanos, List<int[]> promptTokens) {
            this.promptTokens = promptTokens;
            this.promptIdsSent = new boolean[decoders.size()];
            this.promptCounted = new boolean[decoders.size()];
            this.echoSent = new boolean[decoders.size()];
            this.endpoint = endpoint;
            this.params = params;
            this.streams = streams;
            this.decoders = decoders;
            this.mux = mux;
            this.json = json;
            this.startNanos = startNanos;
            this.lastTokenNanos = new long[decoders.size()];
        }

        /** Reads the next output and feeds it to its choice; returns the choice, or null when all streams ended. */
        private ChoiceDecoder step() throws InterruptedException {
            while (true) {
                OutputMux.Item item = mux.next();
                if (item == null) return null;
                ChoiceDecoder d = decoders.get(item.index());
                if (d.finished()) continue;
                GenerateOutput out = item.output();
                int tokens = out.tokenIds() == null ? 0 : out.tokenIds().length;
                throughput.generated(tokens);
                if (!promptCounted[item.index()] && out.usage() != null && (tokens > 0 || out.finished())) {
                    promptCounted[item.index()] = true;
                    throughput.promptComputed(out.usage().promptTokens() - out.usage().cachedPromptTokens());
                }
                if (tokens > 0) {
                    long now = System.nanoTime();
                    if (!firstTokenSeen) {
                        firstTokenSeen = true;
                        metrics.firstToken(now - startNanos);
                    }
                    if (lastTokenNanos[item.index()] != 0) metrics.interToken(now - lastTokenNanos[item.index()], tokens);
                    lastTokenNanos[item.index()] = now;
                }
                d.accept(out);
                if (d.stoppedByString() || d.endedEarly()) streams.get(item.index()).close();
                return d;
            }
        }

        private boolean allFinished() {
            for (ChoiceDecoder d : decoders) if (!d.finished()) return false;
            return true;
        }

        int stream(ServerResponse res) throws InterruptedException {
            res.status(200);
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            res.header("X-Accel-Buffering", "no");
            OutputStream out = res.outputStream();
            try {
                if (endpoint == Endpoint.CHAT) {
                    for (ChoiceDecoder d : decoders) {
                        json.chunk(d.index, true, "", null, null, params.includeUsage());
                        write(out, false);
                    }
                    flush(out);
                }
                while (!allFinished()) {
                    ChoiceDecoder d = step();
                    if (d == null) break;
                    // echo: the prompt's text (and its tokens' logprobs, which come with the worker's first output)
                    // is the choice's first chunk.
                    if (d.echoText() != null && !echoSent[d.index]
                            && (!params.wantsLogprobs() || d.promptPositions() != null || d.finished())) {
                        echoSent[d.index] = true;
                        json.chunk(d.index, false, d.echoText(), params.wantsLogprobs() ? d.promptEntries() : null, null,
                                params.includeUsage());
                        write(out, false);
                    }
                    boolean hasLogprobs = !d.stepLogprobs().isEmpty();
                    int[] ids = params.returnTokenIds() ? d.stepTokenIds() : null;
                    if (!d.delta().isEmpty() || hasLogprobs || ids != null && ids.length > 0) {
                        json.chunk(d.index, false, d.delta(), hasLogprobs ? d.stepLogprobs() : null, null, params.includeUsage(),
                                ids, promptIds(d));
                        write(out, !d.finished());
                    }
                    if (d.finished()) {
                        ApiException failure = failure(d);
                        if (failure != null) {
                            json.errorEvent(failure);
                            write(out, true);
                            finishMetrics();
                            return failure.status();
                        }
                        json.chunk(d.index, false, "", null, finishReason(d), params.includeUsage(),
                                params.returnTokenIds() ? new int[0] : null, promptIds(d));
                        write(out, true);
                    }
                }
                if (!allFinished()) throw new IllegalStateException("an engine stream ended without a finish reason");
                if (params.includeUsage()) {
                    json.usageChunk(promptTokens(), cachedTokens(), completionTokens());
                    write(out, false);
                }
                json.done();
                write(out, true);
                finishMetrics();
                return 200;
            } catch (ClientGoneException e) {
                return CLIENT_CLOSED;
            }
        }

        int collect(ServerResponse res) throws InterruptedException {
            List<StringBuilder> texts = new ArrayList<>(decoders.size());
            List<List<ChoiceDecoder.LogprobEntry>> logprobs = new ArrayList<>(decoders.size());
            List<java.util.stream.IntStream.Builder> ids = new ArrayList<>(decoders.size());
            for (int i = 0; i < decoders.size(); i++) {
                ids.add(java.util.stream.IntStream.builder());
                texts.add(new StringBuilder());
                logprobs.add(params.wantsLogprobs() ? new ArrayList<>() : null);
            }
            while (!allFinished()) {
                ChoiceDecoder d = step();
                if (d == null) break;
                texts.get(d.index).append(d.delta());
                if (params.returnTokenIds()) for (int t : d.stepTokenIds()) ids.get(d.index).add(t);
                if (logprobs.get(d.index) != null) logprobs.get(d.index).addAll(d.stepLogprobs());
            }
            if (!allFinished()) throw new IllegalStateException("an engine stream ended without a finish reason");
            for (ChoiceDecoder d : decoders) {
                ApiException failure = failure(d);
                if (failure != null) throw failure;
            }
            List<JsonBodies.ChoiceResult> results = new ArrayList<>(decoders.size());
            for (ChoiceDecoder d : decoders) {
                String text = texts.get(d.index).toString();
                List<ChoiceDecoder.LogprobEntry> lps = logprobs.get(d.index);
                if (d.echoText() != null) {
                    text = d.echoText() + text;
                    if (lps != null) {
                        List<ChoiceDecoder.LogprobEntry> all = new ArrayList<>(d.promptEntries());
                        all.addAll(lps);
                        lps = all;
                    }
                }
                results.add(new JsonBodies.ChoiceResult(d.index, text, finishReason(d), lps,
                        params.returnTokenIds() ? ids.get(d.index).build().toArray() : null, promptIds(d),
                        params.promptLogprobs() >= 0 ? d.promptPositions() : null));
            }
            json.response(results, promptTokens(), cachedTokens(), completionTokens());
            res.status(200);
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            try {
                res.send(java.util.Arrays.copyOf(json.bytes(), json.size()));
            } catch (RuntimeException e) {
                return CLIENT_CLOSED;
            }
            finishMetrics();
            return 200;
        }

        /** The prompt ids to send with a choice's first chunk (return_token_ids), else null. */
        private int[] promptIds(ChoiceDecoder d) {
            if (!params.returnTokenIds() || promptIdsSent[d.index]) return null;
            promptIdsSent[d.index] = true;
            return promptTokens.get(d.index / params.n());
        }

        private ApiException failure(ChoiceDecoder d) {
            return switch (d.finishReason()) {
                case ERROR -> ApiException.internal("generation failed: " + (d.error() == null ? "engine error" : d.error()));
                case CANCELLED -> ApiException.unavailable("the request was cancelled because the server is shutting down");
                default -> null;
            };
        }

        private String finishReason(ChoiceDecoder d) {
            return d.finishReason() == FinishReason.LENGTH ? "length" : "stop";
        }

        /** Prompt tokens are counted once per distinct prompt (choices of one prompt share it), as OpenAI does. */
        private int promptTokens() {
            int sum = 0;
            for (int i = 0; i < decoders.size(); i += params.n()) sum += decoders.get(i).promptTokens();
            return sum;
        }

        private int cachedTokens() {
            int sum = 0;
            for (int i = 0; i < decoders.size(); i += params.n()) sum += decoders.get(i).cachedTokens();
            return sum;
        }

        private int completionTokens() {
            int sum = 0;
            for (ChoiceDecoder d : decoders) sum += d.completionTokens();
            return sum;
        }

        private void finishMetrics() {
            metrics.finished(System.nanoTime() - startNanos, promptTokens(), completionTokens());
        }

        private void write(OutputStream out, boolean flush) {
            try {
                out.write(json.bytes(), 0, json.size());
                if (flush) out.flush();
            } catch (IOException | RuntimeException e) {
                throw new ClientGoneException(e);
            }
        }

        private void flush(OutputStream out) {
            try {
                out.flush();
            } catch (IOException | RuntimeException e) {
                throw new ClientGoneException(e);
            }
        }
    }
}
