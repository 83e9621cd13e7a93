package ai.armature.frontend;

import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.OutputConstraint;
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
    private final OutputParsing parsing;

    /** @param parsing how this model's output is parsed for reasoning and tool calls */
    GenerationHandler(FrontendConfig config, GenerationEngine engine, Tokenizer tokenizer, PromptBuilder prompts,
                      Admission admission, FrontendMetrics metrics, JsonFactory jsonFactory, ThroughputLog throughput,
                      OutputParsing parsing) {
        this.parsing = parsing;
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
     * A validated request before submission: its parameters, tools, the constraint its output must match (from
     * response_format or a forced tool call), its prompts and each prompt's token limit.
     */
    record Prepared(Endpoint endpoint, GenerationParams params, ChatTools tools, OutputConstraint constraint, String constraintParam,
                    List<int[]> promptTokens, int[] maxTokens) {
        int sequences() {
            return promptTokens.size() * params.n();
        }
    }

    /** Validates a chat or completions body and builds its prompts; throws ApiException (400, 404) on bad input. */
    Prepared prepare(Endpoint endpoint, JsonNode body) {
        checkModel(body);
        GenerationParams params = RequestParser.parse(body, endpoint, tokenizer.vocabSize());
        ChatTools tools = endpoint == Endpoint.CHAT ? ChatTools.parse(body) : ChatTools.NONE;
        if (tools.choice() == ChatTools.Choice.AUTO && parsing.toolParser() == null) {
            throw ApiException.badRequest("tool_choice", "tool_choice 'auto' needs a tool-call parser, and this model's chat template shows "
                    + "no tool-call format: start the server with --tool-call-parser (" + String.join(", ", ai.armature.frontend.tools.ToolCallParsers.NAMES)
                    + "), or use tool_choice 'required' or a named function (constrained to a valid call)");
        }
        OutputConstraint constraint = params.constraint();
        String constraintParam = "response_format";
        if (tools.constraint() != null) {
            if (constraint != null) {
                throw ApiException.badRequest("response_format", "response_format cannot be combined with tool_choice '"
                        + (tools.choice() == ChatTools.Choice.NAMED ? "function" : "required") + "': a forced call is constrained already");
            }
            constraint = tools.constraint();
            constraintParam = "tools";
        }
        List<int[]> promptTokens = endpoint == Endpoint.CHAT ? List.of(prompts.chat(body, tools, true)) : prompts.completion(body);
        if (constraint != null && tools.constraint() == null && endpoint == Endpoint.CHAT && parsing.reasoningParser() != null) {
            // A reasoning model thinks first: response_format constrains the answer after its reasoning, not the reasoning.
            OutputConstraint.Reasoning reasoning = ai.armature.frontend.tools.ReasoningParser.constraintPrefix(parsing.reasoningParser(),
                    promptTail(promptTokens.getFirst()));
            if (reasoning != null) constraint = constraint.afterReasoning(reasoning);
        }
        String lengthParam = endpoint == Endpoint.CHAT ? "messages" : "prompt";
        int[] maxTokens = new int[promptTokens.size()];
        for (int i = 0; i < maxTokens.length; i++) {
            maxTokens[i] = maxTokens(promptTokens.get(i).length, params, lengthParam, endpoint);
            if (params.minTokens() > maxTokens[i]) {
                throw ApiException.badRequest("min_tokens", "min_tokens is " + params.minTokens() + " but the context leaves room for "
                        + maxTokens[i] + " tokens after the prompt; lower min_tokens");
            }
        }
        return new Prepared(endpoint, params, tools, constraint, constraintParam, promptTokens, maxTokens);
    }

    /**
     * The engine requests of one HTTP request once admitted and submitted: a stream, a decoder and an output per
     * choice. When the client hangs up (its socket says so) every engine request is cancelled at once. Closing it
     * closes the streams (cancelling what is still running), stops watching the client and releases the admission.
     */
    final class Submitted implements AutoCloseable {
        final Prepared prepared;
        final String id;
        final List<GenerationStream> streams;
        final List<ChoiceDecoder> decoders;
        final List<ChoiceOutput> outputs;
        private final Admission.Ticket ticket;
        private final java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        private final Runnable unwatch;

        private Submitted(Prepared prepared, String id, Admission.Ticket ticket, int sequences, GuardedSocket client) {
            this.prepared = prepared;
            this.id = id;
            this.ticket = ticket;
            this.streams = new ArrayList<>(sequences);
            this.decoders = new ArrayList<>(sequences);
            this.outputs = new ArrayList<>(sequences);
            this.unwatch = client == null ? () -> { } : client.onGone(() -> {
                gone.set(true);
                for (String requestId : ticket.engineRequestIds) engine.cancel(requestId);
            });
        }

        /** Whether the client hung up (its engine requests were cancelled). */
        boolean clientGone() {
            return gone.get();
        }

        @Override
        public void close() {
            unwatch.run();
            for (GenerationStream s : streams) s.close();
            admission.release(ticket);
        }
    }

    /**
     * Admits and submits every choice of {@code p} under the response id {@code id}; {@code client} (null where not
     * tracked) is watched for hanging up.
     */
    Submitted submit(Prepared p, String id, GuardedSocket client) {
        GenerationParams params = p.params();
        Submitted sub = new Submitted(p, id, admission.admit(p.sequences()), p.sequences(), client);
        try {
            for (int prompt = 0; prompt < p.promptTokens().size(); prompt++) {
                int[] tokens = p.promptTokens().get(prompt);
                // Only the user's stop ids: the worker knows its model's end-of-generation ids and applies ignore_eos.
                // max_tokens 0 (echo): the worker computes the prompt's logprobs with one token, which is not sent.
                StopConditions stop = new StopConditions(Math.max(1, p.maxTokens()[prompt]), params.stopTokenIds(), params.ignoreEos(), false,
                        params.minTokens());
                for (int c = 0; c < params.n(); c++) {
                    int index = prompt * params.n() + c;
                    String requestId = id + "-" + index;
                    SamplingParams sampling = params.sampling().withSeed(params.sampling().seed() + c);
                    sub.ticket.engineRequestIds.add(requestId);
                    sub.streams.add(submit(new GenerateRequest(requestId, tokens, sampling, stop).withConstraint(p.constraint()), p.constraintParam()));
                    sub.decoders.add(new ChoiceDecoder(index, tokens, tokenizer, params.stop(), params.wantsLogprobs(),
                            params.tokensAsIds(), params.echo(), p.maxTokens()[prompt] == 0).rendering(parsing.renderedIds()));
                    sub.outputs.add(new ChoiceOutput(reasoningParser(p, tokens), p.tools().parser(parsing.toolParser())));
                }
            }
            return sub;
        } catch (RuntimeException e) {
            sub.close();
            throw e;
        }
    }

    /**
     * The reasoning parser of one chat choice, or null: none is configured, or the output is constrained from its
     * first token (a forced tool call, or a prompt that already closed the reasoning), with no reasoning to split off.
     */
    private ai.armature.frontend.tools.ReasoningParser reasoningParser(Prepared p, int[] prompt) {
        if (parsing.reasoningParser() == null || p.endpoint() != Endpoint.CHAT) return null;
        if (p.constraint() != null && p.constraint().reasoning() == null) return null;
        return ai.armature.frontend.tools.ReasoningParser.create(parsing.reasoningParser(), promptTail(prompt));
    }

    /** The text of a prompt's last few tokens, where a chat template opens or closes the reasoning. */
    private String promptTail(int[] prompt) {
        int tail = Math.min(prompt.length, 8);
        return tokenizer.decode(java.util.Arrays.copyOfRange(prompt, prompt.length - tail, prompt.length), true);
    }

    /**
     * Serves one request; returns the HTTP status it ended with (for metrics). Errors before output are thrown.
     * {@code client} (null where not tracked) says when the client hangs up: the request's engine requests are then
     * cancelled at once, streaming or not, and it ends as 499.
     */
    int serve(Endpoint endpoint, JsonNode body, ServerResponse res, long startNanos, GuardedSocket client) {
        Prepared p = prepare(endpoint, body);
        OutputMux mux = null;
        String id = newId(endpoint.idPrefix);
        Submitted sub = submit(p, id, client);
        Run run = null;
        try {
            mux = new OutputMux(sub.streams);
            JsonBodies json = new JsonBodies(jsonFactory, endpoint, id, System.currentTimeMillis() / 1000,
                    config.servedModelName());
            res.header("X-Request-Id", id);
            run = new Run(endpoint, p, sub, mux, json, startNanos);
            int status = p.params().stream() ? run.stream(res) : run.collect(res);
            // A response that went out whole is a 200 even if the client hung up right after reading it (an upstream
            // client closes on [DONE]); only one the departure cut short is the client's 499.
            return sub.clientGone() && status != 200 ? CLIENT_CLOSED : status;
        } catch (ApiException e) {
            if (sub.clientGone()) return CLIENT_CLOSED; // a cancellation because the client left is nothing to tell it
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the request was interrupted because the server is shutting down");
        } finally {
            if (run != null) run.finishMetrics();
            if (mux != null) mux.close();
            sub.close();
        }
    }

    private GenerationStream submit(GenerateRequest request, String constraintParam) {
        try {
            return engine.submit(request);
        } catch (RequestRejectedException e) {
            throw switch (e.reason()) {
                // A constraint the worker cannot compile is the fault of what set it (response_format or tools).
                case INVALID -> ApiException.badRequest(request.constraint() != null ? constraintParam : null, e.getMessage());
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

    /**
     * The error a choice that ended with {@code reason} answers (as the HTTP status before the first byte, else as
     * the stream's error event), or null when it did not fail. A failure of kind UNAVAILABLE (no worker could run or
     * continue the request: migrations exhausted, no worker left) is a 503 with Retry-After, as a refusal at submit
     * is; INVALID (a request found unservable after it was accepted, e.g. while held for a worker) a 400; anything
     * else a 500.
     */
    static ApiException failure(FinishReason reason, GenerateOutput.ErrorKind kind, String error) {
        return switch (reason) {
            case ERROR -> switch (kind == null ? GenerateOutput.ErrorKind.INTERNAL : kind) {
                case UNAVAILABLE -> ApiException.unavailable(error == null ? "no worker could run the request: retry later" : error);
                case INVALID -> ApiException.badRequest(null, error == null ? "the request cannot be served" : error);
                case INTERNAL -> ApiException.internal("generation failed: " + (error == null ? "engine error" : error));
            };
            case CANCELLED -> ApiException.unavailable("the request was cancelled because the server is shutting down");
            default -> null;
        };
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

    /**
     * A new id: {@code prefix} and 96 random bits in hex, made the same way for every API's responses and output
     * items (chatcmpl-, cmpl-, msg_, resp_, rs_, fc_).
     */
    static String newId(String prefix) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return prefix + HexFormat.of().toHexDigits(r.nextLong()) + HexFormat.of().toHexDigits(r.nextInt());
    }

    /**
     * Receives one chat generation as it happens, for the APIs that write their own wire format (Anthropic
     * Messages): each engine step of a choice (whose parsed reasoning, content and tool calls then go to the
     * returned listener), a flush point after each step, and each choice's end. A write to a client that is gone
     * throws {@link ClientGoneException}.
     */
    interface GenerationEvents {
        /** Choice {@code decoder.index} consumed an engine step; returns the listener for its parsed output. */
        ChoiceOutput.Listener step(ChoiceDecoder decoder);

        /** The end of an engine step: flush what was written. */
        void stepDone();

        /** A choice ended with a result (stop, length, tool calls); {@code decoder} and {@code output} hold it. */
        void finished(ChoiceDecoder decoder, ChoiceOutput output, String finishReason);
    }

    /**
     * Serves a chat request (an OpenAI chat body that another API's handler built) through {@code events} under
     * the response id {@code id}; returns the request's usage once every choice finished. Errors before output, and
     * a choice's failure (engine error, cancel), are thrown as ApiException; the events' own writes, or the client
     * hanging up ({@code client}, null where not tracked), throw ClientGoneException. Everything submitted is
     * closed before it returns.
     */
    Usage serveEvents(JsonNode chatBody, String id, long startNanos, GuardedSocket client, GenerationEvents events)
            throws InterruptedException {
        Prepared p = prepare(Endpoint.CHAT, chatBody);
        try (Submitted sub = submit(p, id, client); OutputMux mux = new OutputMux(sub.streams)) {
            Run run = new Run(Endpoint.CHAT, p, sub, mux, null, startNanos);
            try {
                return run.events(events);
            } catch (ApiException e) {
                if (sub.clientGone()) throw new ClientGoneException(e); // cancelled because the client left
                throw e;
            } finally {
                run.finishMetrics();
            }
        }
    }

    /** Token counts of a served request, for APIs that report their own usage shape. */
    record Usage(int promptTokens, int cachedTokens, int completionTokens, int reasoningTokens) {
    }

    /** The state of one request while its outputs are read: choices, timing, and the writing of results. */
    private final class Run {
        private final Endpoint endpoint;
        private final Prepared prepared;
        private final GenerationParams params;
        private final List<GenerationStream> streams;
        private final List<ChoiceDecoder> decoders;
        private final List<ChoiceOutput> outputs;
        private final OutputMux mux;
        private final JsonBodies json;
        private final long startNanos;
        private boolean metricsRecorded;
        private final long[] lastTokenNanos;
        private final List<int[]> promptTokens;
        /** return_token_ids: whether a choice's prompt ids went out (with its first chunk). */
        private final boolean[] promptIdsSent;
        /** echo: whether a choice's prompt went out (its first chunk). */
        private final boolean[] echoSent;
        /** Whether a choice's computed prompt tokens went into the throughput log. */
        private final boolean[] promptCounted;
        private boolean firstTokenSeen;

        Run(Endpoint endpoint, Prepared prepared, Submitted sub, OutputMux mux, JsonBodies json, long startNanos) {
            this.endpoint = endpoint;
            this.prepared = prepared;
            this.params = prepared.params();
            this.promptTokens = prepared.promptTokens();
            this.streams = sub.streams;
            this.decoders = sub.decoders;
            this.outputs = sub.outputs;
            this.promptIdsSent = new boolean[decoders.size()];
            this.promptCounted = new boolean[decoders.size()];
            this.echoSent = new boolean[decoders.size()];
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

        /** Passes the text a step released (and, when the choice ended, what the parsers still hold) to its output. */
        private void parse(ChoiceDecoder d, ChoiceOutput.Listener listener) {
            ChoiceOutput o = outputs.get(d.index);
            if (!d.delta().isEmpty() || d.stepTokens() > 0) o.accept(d.delta(), d.stepTokens(), listener);
            if (d.finished() && failure(d) == null) o.finish(listener);
        }

        private boolean allFinished() {
            for (ChoiceDecoder d : decoders) if (!d.finished()) return false;
            return true;
        }

        int stream(ServerResponse res) throws InterruptedException {
            // Nothing goes out before the first output, as on Messages and Responses: a request that fails before it
            // (no worker could run it, every migration failed) is answered with its status, a 503 with Retry-After,
            // not with a 200 whose stream ends in an error event. The role chunk goes out with the first token.
            ChoiceDecoder first = step();
            if (first != null && first.finished() && failure(first) != null) throw failure(first);
            OutputStream out = OpenAiServer.startEventStream(res);
            try {
                if (endpoint == Endpoint.CHAT) {
                    for (ChoiceDecoder d : decoders) {
                        json.chunk(d.index, true, "", null, null, params.includeUsage());
                        write(out, false);
                    }
                    flush(out);
                }
                for (ChoiceDecoder d = first; d != null; d = allFinished() ? null : step()) {
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
                    CharSequence text = d.delta();
                    boolean parsed = !outputs.get(d.index).plain();
                    if (parsed) {
                        // Parsed output goes out as its own chunks (reasoning, content, tool calls); this step's
                        // logprobs and ids follow in a chunk of their own.
                        parse(d, new ChunkWriter(d.index, out));
                        text = "";
                    }
                    if (!text.isEmpty() || hasLogprobs || ids != null && ids.length > 0) {
                        json.chunk(d.index, false, text, hasLogprobs ? d.stepLogprobs() : null, null, params.includeUsage(),
                                ids, promptIds(d));
                        write(out, !d.finished());
                    } else if (parsed && !d.finished()) {
                        flush(out);
                    }
                    if (d.finished()) {
                        ApiException failure = failure(d);
                        if (failure != null) {
                            json.errorEvent(failure);
                            write(out, true);
                            return failure.status();
                        }
                        json.chunk(d.index, false, "", null, finishReason(d), params.includeUsage(),
                                params.returnTokenIds() ? new int[0] : null, promptIds(d));
                        write(out, true);
                    }
                }
                if (!allFinished()) throw new IllegalStateException("an engine stream ended without a finish reason");
                if (params.includeUsage()) {
                    json.usageChunk(promptTokens(), cachedTokens(), completionTokens(), reasoningTokens());
                    write(out, false);
                }
                json.done();
                write(out, true);
                return 200;
            } catch (ClientGoneException e) {
                return CLIENT_CLOSED;
            }
        }

        /** Writes one choice's parsed output as chat chunks as it is decided. */
        private final class ChunkWriter implements ChoiceOutput.Listener {
            private final int index;
            private final OutputStream out;

            ChunkWriter(int index, OutputStream out) {
                this.index = index;
                this.out = out;
            }

            @Override
            public void reasoning(String text) {
                json.reasoningChunk(index, text, params.includeUsage());
                write(out, false);
            }

            @Override
            public void content(String text) {
                json.chunk(index, false, text, null, null, params.includeUsage());
                write(out, false);
            }

            @Override
            public void toolCallBegin(int call, String id, String name) {
                json.toolCallChunk(index, call, id, name, "", params.includeUsage());
                write(out, false);
            }

            @Override
            public void toolCallArguments(int call, String fragment) {
                json.toolCallChunk(index, call, null, null, fragment, params.includeUsage());
                write(out, false);
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
                if (outputs.get(d.index).plain()) texts.get(d.index).append(d.delta());
                else parse(d, ChoiceOutput.IGNORE);
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
                ChoiceOutput o = outputs.get(d.index);
                String text = o.plain() ? texts.get(d.index).toString() : o.content();
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
                        params.promptLogprobs() >= 0 ? d.promptPositions() : null, o.reasoning().isEmpty() ? null : o.reasoning(), o.calls()));
            }
            json.response(results, promptTokens(), cachedTokens(), completionTokens(), reasoningTokens());
            res.status(200);
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            try {
                res.send(java.util.Arrays.copyOf(json.bytes(), json.size()));
            } catch (RuntimeException e) {
                return CLIENT_CLOSED;
            }
            return 200;
        }

        /** Drives {@link GenerationEvents} until every choice ended; see {@link #serveEvents}. */
        Usage events(GenerationEvents events) throws InterruptedException {
            while (!allFinished()) {
                ChoiceDecoder d = step();
                if (d == null) break;
                ApiException failure = d.finished() ? failure(d) : null;
                if (failure != null) throw failure;
                parse(d, events.step(d));
                if (d.finished()) events.finished(d, outputs.get(d.index), finishReason(d));
                events.stepDone();
            }
            if (!allFinished()) throw new IllegalStateException("an engine stream ended without a finish reason");
            return new Usage(promptTokens(), cachedTokens(), completionTokens(), reasoningTokens());
        }

        /** The prompt ids to send with a choice's first chunk (return_token_ids), else null. */
        private int[] promptIds(ChoiceDecoder d) {
            if (!params.returnTokenIds() || promptIdsSent[d.index]) return null;
            promptIdsSent[d.index] = true;
            return promptTokens.get(d.index / params.n());
        }

        private ApiException failure(ChoiceDecoder d) {
            return GenerationHandler.failure(d.finishReason(), d.errorKind(), d.error());
        }

        /**
         * OpenAI's finish reason: "length", "stop", or "tool_calls" when a choice called tools under tool_choice
         * auto or required (a named function's forced call ends with "stop", as OpenAI's does).
         */
        private String finishReason(ChoiceDecoder d) {
            if (d.finishReason() == FinishReason.LENGTH) return "length";
            if (outputs.get(d.index).calledTools() && prepared.tools().choice() != ChatTools.Choice.NAMED) return "tool_calls";
            return "stop";
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

        /** Reasoning tokens of all choices, or -1 for completions (whose usage has no such field). */
        private int reasoningTokens() {
            if (endpoint != Endpoint.CHAT) return -1;
            int sum = 0;
            for (ChoiceOutput o : outputs) sum += o.reasoningTokens();
            return sum;
        }

        /**
         * Records the request's end-to-end latency and token counts, once, whatever its outcome (answered, failed,
         * cancelled, client gone): the callers run it when the request is done with, so that no way out of a run
         * is missed. Tokens count what the engine processed and generated, which failed requests cost too.
         */
        void finishMetrics() {
            if (metricsRecorded) return;
            metricsRecorded = true;
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
