package ai.armature.serving;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

import ai.armature.engine.grammar.CompiledGrammar;
import ai.armature.engine.grammar.GrammarCompiler;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.serving.disagg.KvHoldSource;
import ai.armature.serving.disagg.KvTransferListener;
import ai.armature.serving.disagg.KvTransport;
import ai.armature.serving.kv.KvImport;
import ai.armature.serving.runner.KvBlocks;
import ai.armature.serving.runner.KvLayout;
import ai.armature.serving.runner.ModelRunner;

/**
 * One serving worker as a {@link GenerationEngine}: an {@link EngineCore} driven by its own platform thread, which
 * runs steps while there is work and blocks when idle. {@link #submit} validates the request on the caller's
 * thread (prompt too long, bad token ids, queue full, shutting down are refused at once) and returns a blocking
 * stream; cancellation and new requests reach the engine thread through one queue and take effect at the next step.
 * The engine owns the runner and closes it. Thread-safe.
 */
public final class ServingEngine implements GenerationEngine, KvHoldSource {

    private static final Logger LOG = Logger.getLogger(ServingEngine.class.getName());
    private static final long HOLD_CHECK_MILLIS = 200;
    private static final String SHUTDOWN_MESSAGE = "the worker shut down before the request finished: retry it";
    /** How long a KV fetch may take, and an unclaimed hold may wait for its decode worker ({@code --kv-transfer-timeout}). */
    public static final Duration DEFAULT_TRANSFER_TIMEOUT = Duration.ofSeconds(10);

    private sealed interface Command {
    }

    private record Submit(GenerateRequest request, CompiledGrammar grammar, EngineStream stream) implements Command {
    }

    private record Cancel(String requestId) implements Command {
    }

    private record Shutdown() implements Command {
    }

    private record Snapshot(CompletableFuture<KvCacheSnapshot> result) implements Command {
    }

    private record ExportPrefix(GenerateRequest request, CompletableFuture<KvBlocks> result) implements Command {
    }

    private record ImportPrefix(GenerateRequest request, KvBlocks blocks, CompletableFuture<Integer> result) implements Command {
    }

    private record ReserveImport(GenerateRequest request, CompletableFuture<KvImport> result) implements Command {
    }

    /** A request whose prompt blocks arrived (or partly, or not at all: {@code received} may be null). */
    private record SubmitImported(GenerateRequest request, CompiledGrammar grammar, EngineStream stream, KvImport received) implements Command {
    }

    private record AbortImport(KvImport reserved) implements Command {
    }

    private record ClaimHold(String transferId, CompletableFuture<int[]> result) implements Command {
    }

    private record ReleaseHold(String transferId) implements Command {
    }

    private final EngineCore core;
    private final ModelRunner runner;
    private final int maxQueued;
    private final LinkedBlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
    private final ConcurrentHashMap<String, EngineStream> streams = new ConcurrentHashMap<>();
    /** Requests accepted that have not started running yet (inbox + never-run waiting). */
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger inboxSubmits = new AtomicInteger();
    private final Thread loop;
    private volatile boolean closed;
    /** KV transfers (disaggregation): how blocks are fetched, how long a fetch or an unclaimed hold may last. */
    private volatile KvTransport transport;
    private volatile long transferTimeoutNanos = DEFAULT_TRANSFER_TIMEOUT.toNanos();
    private volatile KvTransferListener transferListener = KvTransferListener.NONE;
    private final ConcurrentHashMap<String, PrefixFetch> fetches = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicBoolean closeCalled = new java.util.concurrent.atomic.AtomicBoolean();

    /** Sizes the KV cache, allocates it in the runner and starts the engine thread. */
    public ServingEngine(ModelRunner runner, ServingConfig config, KvEventPublisher events) {
        this(runner, config, events, null);
    }

    /**
     * As above, with {@code grammars} to compile requests' output constraints (structured output) against the
     * model's vocabulary; null refuses constrained requests.
     */
    public ServingEngine(ModelRunner runner, ServingConfig config, KvEventPublisher events, GrammarCompiler grammars) {
        this.runner = runner;
        try {
            this.core = new EngineCore(runner, config, events, grammars);
        } catch (RuntimeException e) {
            runner.close();
            throw e;
        }
        this.maxQueued = config.maxQueued();
        core.onQueueSlotReleased(queued::decrementAndGet);
        this.loop = Thread.ofPlatform().name("armature-engine-" + runner.modelName()).daemon(true).unstarted(this::run);
        loop.start();
    }

    public ServingEngine(ModelRunner runner, ServingConfig config) {
        this(runner, config, KvEventPublisher.NONE);
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        if (closed) {
            throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN,
                    "this worker is shutting down: send the request to another worker");
        }
        core.validate(request);
        CompiledGrammar grammar = core.prepare(request); // on the caller's thread: compiling never stalls the engine
        EngineStream stream = new EngineStream(request.requestId(), this::cancel);
        if (streams.putIfAbsent(request.requestId(), stream) != null) {
            throw new RequestRejectedException(RequestRejectedException.Reason.INVALID,
                    "a request with id " + request.requestId() + " is already in flight: use a unique request id");
        }
        int q;
        do {
            q = queued.get();
            if (q >= maxQueued) {
                streams.remove(request.requestId(), stream);
                throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL,
                        "this worker already has " + q + " requests waiting (the limit is " + maxQueued + "): retry later");
            }
        } while (!queued.compareAndSet(q, q + 1));
        inboxSubmits.incrementAndGet();
        KvTransport t = transport;
        if (request.kvTransfer() instanceof KvTransfer.Fetch fetch && t != null) {
            // Its prompt's blocks come from a prefill worker first; it waits (counted as queued) meanwhile.
            PrefixFetch f = new PrefixFetch(this, request, grammar, stream, fetch, t, transferTimeoutNanos, transferListener);
            fetches.put(request.requestId(), f);
            f.start();
            return stream;
        }
        inbox.add(new Submit(request, grammar, stream));
        if (closed && !loop.isAlive()) drainInbox(); // raced with close(): nobody else will answer it
        return stream;
    }

    /**
     * Lets this worker take part in KV transfers (disaggregated serving): requests with a {@link KvTransfer.Fetch}
     * get their prompt's blocks through {@code transport} before they compute (within {@code timeout}, after which
     * they compute the rest themselves), and holds this worker keeps for decode workers expire when nobody claims them
     * within {@code timeout}. Without it a fetch request computes its whole prompt here. Call before traffic.
     */
    public void enableKvTransfer(KvTransport transport, Duration timeout, KvTransferListener listener) {
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("--kv-transfer-timeout must be > 0");
        if (runner.kvLayout().isEmpty()) {
            throw new IllegalArgumentException(runner.modelName() + ": this runner cannot export or import KV blocks, so it cannot take part in KV transfers");
        }
        this.transferTimeoutNanos = timeout.toNanos();
        this.transferListener = listener == null ? KvTransferListener.NONE : listener;
        this.transport = transport;
    }

    // ---- the prefill side of KV transfers: holds that decode workers claim

    @Override
    public HeldBlocks claim(String transferId) throws InterruptedException {
        CompletableFuture<int[]> f = new CompletableFuture<>();
        enqueue(new ClaimHold(transferId, f), f);
        int[] ids;
        try {
            ids = f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            return null;
        }
        if (ids == null) return null;
        KvLayout layout = runner.kvLayout().orElse(null);
        if (layout == null) {
            release(transferId);
            return null;
        }
        return new HeldBlocks() {
            private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

            @Override
            public int count() {
                return ids.length;
            }

            @Override
            public KvLayout layout() {
                return layout;
            }

            @Override
            public KvBlocks read(int from, int count) {
                if (released.get()) throw new IllegalStateException("the hold was released");
                return core.exportBlocks(java.util.Arrays.copyOfRange(ids, from, from + count));
            }

            @Override
            public void close() {
                if (released.compareAndSet(false, true)) ServingEngine.this.release(transferId);
            }
        };
    }

    @Override
    public void release(String transferId) {
        if (closed) return;
        inbox.add(new ReleaseHold(transferId));
    }

    // ---- the decode side: PrefixFetch runs the transfer and calls these

    /** Reserves blocks for the request's incoming prompt blocks, on the engine thread. */
    CompletableFuture<KvImport> reserveImport(GenerateRequest request) {
        CompletableFuture<KvImport> result = new CompletableFuture<>();
        enqueue(new ReserveImport(request, result), result);
        return result;
    }

    /** Hands the request, with what arrived ({@code received}, or null), to the engine thread. */
    void submitImported(GenerateRequest request, CompiledGrammar grammar, EngineStream stream, KvImport received) {
        fetches.remove(request.requestId());
        inbox.add(new SubmitImported(request, grammar, stream, received));
        if (closed && !loop.isAlive()) drainInbox();
    }

    /** The fetching request ended before it was handed over (cancelled, or the worker shut down): no longer queued. */
    void fetchEnded(GenerateRequest request, EngineStream stream, KvImport reserved, FinishReason reason, String error) {
        fetches.remove(request.requestId());
        if (reserved != null && !closed) inbox.add(new AbortImport(reserved));
        inboxSubmits.decrementAndGet();
        queued.decrementAndGet();
        deliver(stream, new GenerateOutput(request.requestId(), new int[0], null, reason,
                new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens()), error));
    }

    static String shutdownMessage() {
        return SHUTDOWN_MESSAGE;
    }

    @Override
    public void cancel(String requestId) {
        PrefixFetch f = fetches.get(requestId);
        if (f != null && f.cancel()) return; // still fetching: it ends itself
        if (streams.containsKey(requestId)) inbox.add(new Cancel(requestId));
    }

    @Override
    public EngineStats stats() {
        EngineStats s = core.stats();
        int pending = inboxSubmits.get();
        if (pending == 0) return s;
        return s.withWaitingRequests(s.waitingRequests() + pending);
    }

    @Override
    public boolean healthy() {
        return !closed;
    }

    @Override
    public int maxContextTokens() {
        return core.maxContextTokens();
    }

    /** Counters of this worker's KV tiers below the device pool (host memory, disk); empty without them. Thread-safe. */
    @Override
    public java.util.List<ai.armature.protocol.kv.KvTierStats> kvTierStats() {
        return core.kvTierStats();
    }

    /** Cumulative steps, preemptions, computed and generated tokens (thread-safe snapshot). */
    public ServingCounters counters() {
        return core.counters();
    }

    /** The number of KV blocks and their size, as sized at start. */
    public int kvBlocksTotal() {
        return core.totalBlocks();
    }

    public int blockSize() {
        return core.blockSize();
    }

    /** The name this worker salts its KV block hashes with (its runner's model name): a router hashes prompts with it. */
    public String kvNamespace() {
        return runner.modelName();
    }

    /**
     * The K/V of the full blocks of {@code request}'s prompt that this worker caches (the leading run), taken on the
     * engine thread between steps: after a prefill here, what a decode worker imports with {@link #importPrefix}.
     * Send it with {@link KvBlocks#encode()}. Completes exceptionally if the worker is shut down or its runner
     * cannot export blocks.
     */
    public CompletableFuture<KvBlocks> exportPrefix(GenerateRequest request) {
        CompletableFuture<KvBlocks> result = new CompletableFuture<>();
        enqueue(new ExportPrefix(request, result), result);
        return result;
    }

    /**
     * Puts K/V another worker computed for {@code request}'s prompt into this worker's prefix cache, on the engine
     * thread between steps, so that {@code request} submitted afterwards computes only what the blocks do not
     * cover (at most its last block: greedy output equals computing it all here). Completes with the number of
     * leading prompt blocks now cached, or exceptionally for a payload of another layout (nothing written).
     */
    public CompletableFuture<Integer> importPrefix(GenerateRequest request, KvBlocks blocks) {
        CompletableFuture<Integer> result = new CompletableFuture<>();
        enqueue(new ImportPrefix(request, blocks, result), result);
        return result;
    }

    private void enqueue(Command c, CompletableFuture<?> result) {
        if (closed) {
            result.completeExceptionally(new IllegalStateException("the worker is shut down"));
            return;
        }
        inbox.add(c);
        if (closed && !loop.isAlive()) drainInbox();
    }

    /**
     * What this worker holds in each KV tier, with the id of the last KV event published before it, taken on the
     * engine thread between steps so that it agrees exactly with the event stream (a router resynchronising after
     * a gap applies the events after {@code lastEventId}). Completes exceptionally if the worker is shut down.
     */
    public CompletableFuture<KvCacheSnapshot> kvSnapshot() {
        CompletableFuture<KvCacheSnapshot> result = new CompletableFuture<>();
        enqueue(new Snapshot(result), result);
        return result;
    }

    /**
     * Stops the engine thread: requests in flight end with an ERROR output; then closes the runner. Also frees the
     * runner of an engine whose thread already died (it set {@code closed} itself but cannot close the runner from
     * inside a failing step).
     */
    @Override
    public void close() {
        if (!closeCalled.compareAndSet(false, true)) return;
        // Queued before the flag is set: whoever sees healthy() turn false knows the engine thread stops at its next
        // look at the inbox (a submit that races in between is answered by drainInbox below).
        inbox.add(new Shutdown());
        closed = true;
        try {
            loop.join();
        } catch (InterruptedException e) {
            // Give up waiting; the engine thread still finishes its step, fails what is in flight and stops.
            Thread.currentThread().interrupt();
            return;
        }
        // Requests still fetching their prompt's KV end with the shutdown error (the fetch's thread delivers it).
        for (PrefixFetch f : fetches.values()) f.shutdown();
        drainInbox();
        core.close();
        runner.close();
    }

    private void run() {
        try {
            while (true) {
                Command c = core.hasWork() ? inbox.poll()
                        : core.holdCount() > 0 ? inbox.poll(HOLD_CHECK_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS) : inbox.take();
                for (; c != null; c = inbox.poll()) {
                    if (c instanceof Shutdown) {
                        shutdown();
                        return;
                    }
                    handle(c);
                }
                if (core.holdCount() > 0 && core.expireHolds(transferTimeoutNanos) > 0) {
                    LOG.info(() -> "dropped KV blocks held for a decode worker that did not fetch them within "
                            + transferTimeoutNanos / 1_000_000 + " ms");
                }
                if (core.hasWork() && !core.step() && core.hasWork()) {
                    // The scheduler guarantees progress; failing loudly beats spinning silently.
                    throw new IllegalStateException("the scheduler planned an empty step with requests pending");
                }
            }
        } catch (InterruptedException e) {
            shutdown();
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "the engine thread failed; failing every request in flight and refusing new ones", t);
            closed = true;
            shutdown();
        }
    }

    private void handle(Command c) {
        switch (c) {
            case Submit(GenerateRequest request, CompiledGrammar grammar, EngineStream stream) -> {
                core.add(request, grammar, out -> deliver(stream, out));
                inboxSubmits.decrementAndGet();
            }
            case Cancel(String requestId) -> core.cancel(requestId);
            case Snapshot(CompletableFuture<KvCacheSnapshot> result) -> result.complete(core.kvSnapshot());
            case ExportPrefix(GenerateRequest request, CompletableFuture<KvBlocks> result) -> complete(result, () -> core.exportPrefix(request));
            case ImportPrefix(GenerateRequest request, KvBlocks blocks, CompletableFuture<Integer> result) ->
                    complete(result, () -> core.importPrefix(request, blocks));
            case ReserveImport(GenerateRequest request, CompletableFuture<KvImport> result) -> complete(result, () -> core.reserveImport(request));
            case SubmitImported(GenerateRequest request, CompiledGrammar grammar, EngineStream stream, KvImport received) -> {
                core.add(request, grammar, out -> deliver(stream, out), received);
                inboxSubmits.decrementAndGet();
            }
            case AbortImport(KvImport reserved) -> core.abortImport(reserved);
            case ClaimHold(String transferId, CompletableFuture<int[]> result) -> result.complete(core.claimHold(transferId));
            case ReleaseHold(String transferId) -> core.releaseHold(transferId);
            case Shutdown() -> throw new IllegalStateException("handled by the loop");
        }
    }

    /** Completes {@code result} with {@code work}'s value, or with the request-level failure it threw. */
    private static <T> void complete(CompletableFuture<T> result, java.util.function.Supplier<T> work) {
        try {
            result.complete(work.get());
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            result.completeExceptionally(e);
        }
    }

    private void deliver(EngineStream stream, GenerateOutput out) {
        if (out.finished()) streams.remove(stream.requestId(), stream);
        stream.accept(out);
    }

    private void shutdown() {
        core.failAll(SHUTDOWN_MESSAGE);
        drainInbox();
    }

    /** Answers submits still queued after the engine thread stopped. */
    private synchronized void drainInbox() {
        for (Command c; (c = inbox.poll()) != null; ) {
            if (c instanceof Submit(GenerateRequest request, CompiledGrammar grammar, EngineStream stream)) {
                inboxSubmits.decrementAndGet();
                queued.decrementAndGet();
                deliver(stream, new GenerateOutput(request.requestId(), new int[0], null, FinishReason.ERROR,
                        new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens()), SHUTDOWN_MESSAGE));
            } else if (c instanceof SubmitImported(GenerateRequest request, CompiledGrammar grammar, EngineStream stream, KvImport received)) {
                inboxSubmits.decrementAndGet();
                queued.decrementAndGet();
                deliver(stream, new GenerateOutput(request.requestId(), new int[0], null, FinishReason.ERROR,
                        new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens()), SHUTDOWN_MESSAGE));
            } else if (c instanceof ClaimHold(String transferId, CompletableFuture<int[]> result)) {
                result.complete(null);
            } else {
                CompletableFuture<?> result = switch (c) {
                    case Snapshot s -> s.result();
                    case ExportPrefix e -> e.result();
                    case ImportPrefix i -> i.result();
                    case ReserveImport r -> r.result();
                    default -> null;
                };
                if (result != null) result.completeExceptionally(new IllegalStateException("the worker is shut down"));
            }
        }
    }
}
