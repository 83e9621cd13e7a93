package ai.armature.serving;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Logger;

import ai.armature.engine.grammar.CompiledGrammar;
import ai.armature.engine.grammar.GrammarCompiler;
import ai.armature.engine.grammar.GrammarException;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.TokenLogprob;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.serving.kv.KvCacheManager;
import ai.armature.serving.kv.KvImport;
import ai.armature.serving.kv.KvCacheSizing;
import ai.armature.serving.runner.ModelRunner;
import ai.armature.serving.runner.SampledToken;
import ai.armature.serving.runner.ScheduledSequence;

/**
 * One worker's single-threaded core: requests, the scheduler, the KV cache manager and the model runner. Each
 * {@link #step()} plans a batch, runs it through the runner, appends sampled tokens, applies stop conditions,
 * caches newly full blocks for prefix reuse and sends outputs. {@link ServingEngine} drives it from its
 * engine thread; a simulation may drive it directly (e.g. many workers on one virtual clock).
 *
 * <p>Every method except {@link #validate}, {@link #stats()}, {@link #maxContextTokens()} and the other getters of
 * immutable facts must be called from one thread. Outputs go to each request's sink on that thread, after the
 * stats snapshot reflects the step (so a consumer that sees a final output also sees its blocks released).
 */
public final class EngineCore {

    private static final Logger LOG = Logger.getLogger(EngineCore.class.getName());

    private final ModelRunner runner;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final int blockSize;
    private final int maxContext;
    private final int vocabSize;
    private final int[] eosIds;
    private final GrammarCompiler grammars;
    private final MaskThread maskThread;
    private final Map<String, Sequence> live = new HashMap<>();
    private final List<Runnable> deliveries = new ArrayList<>();
    private Runnable queueSlotReleased = () -> { };
    private long nextSequenceId = 1;
    private long steps, prefillTokens, generatedTokens, finishedRequests;
    /** Nanoseconds (the runner's clock) in all steps, and in steps that computed prompt tokens; the prompt tokens those computed. */
    private long busyNanos, promptStepNanos, promptStepTokens;
    private volatile EngineStats snapshot;
    private volatile ServingCounters counters = new ServingCounters(0, 0, 0, 0, 0);

    /**
     * Sizes the KV pool (see {@link KvCacheSizing}), allocates it in the runner and logs its size. Throws
     * IllegalArgumentException with a clear message when the budget does not hold one block.
     */
    public EngineCore(ModelRunner runner, ServingConfig config, KvEventPublisher events) {
        this(runner, config, events, null);
    }

    /**
     * As above; {@code grammars} compiles requests' output constraints against the model's vocabulary (null: this
     * worker refuses constrained requests).
     */
    public EngineCore(ModelRunner runner, ServingConfig config, KvEventPublisher events, GrammarCompiler grammars) {
        this.runner = runner;
        this.grammars = grammars;
        this.maskThread = new MaskThread("armature-masks-" + runner.modelName());
        if (grammars != null && grammars.vocabulary().size() != runner.vocabSize()) {
            throw new IllegalArgumentException("the constraint vocabulary covers " + grammars.vocabulary().size()
                    + " tokens but the model has " + runner.vocabSize() + " logits");
        }
        this.blockSize = config.blockSize();
        this.maxContext = runner.maxContextTokens();
        this.vocabSize = runner.vocabSize();
        this.eosIds = runner.endOfGenerationTokenIds().clone();
        long perToken = runner.kvBytesPerToken();
        long budget = KvCacheSizing.budgetBytes(config.kvCacheMemoryBytes(), runner.suggestedKvCacheBytes(), perToken,
                config.maxSeqs(), maxContext, config.sharedBy());
        int numBlocks = KvCacheSizing.blocksFor(budget, perToken, blockSize);
        runner.allocateKvCache(numBlocks, blockSize);
        this.kv = new KvCacheManager(numBlocks, blockSize, new BlockHasher(runner.modelName()), events, runner, config.kvTiers());
        this.scheduler = new Scheduler(kv, config.maxBatchedTokens(), config.maxSeqs());
        LOG.info(() -> "KV cache: " + numBlocks + " blocks of " + blockSize + " tokens = " + (long) numBlocks * blockSize
                + " tokens, " + (long) numBlocks * blockSize * perToken + " bytes (" + perToken + " bytes per token)");
        publishStats();
    }

    /** Called (on the engine thread) whenever a request leaves the waiting queue for the first time or ends there. */
    void onQueueSlotReleased(Runnable r) {
        this.queueSlotReleased = r;
    }

    public int maxContextTokens() {
        return maxContext;
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return kv.totalBlocks();
    }

    /** The KV cache manager, for counters and tests (engine thread only). */
    public KvCacheManager kvCacheManager() {
        return kv;
    }

    /**
     * The K/V of the cached full blocks of {@code r}'s prompt, for another worker's {@link #importPrefix} (see
     * {@link KvCacheManager#exportPrefix}); engine thread, between steps.
     */
    public ai.armature.serving.runner.KvBlocks exportPrefix(GenerateRequest r) {
        return kv.exportPrefix(r.cacheSalt(), r.promptTokens(), r.promptTokens().length, runner);
    }

    /**
     * Caches K/V another worker computed for {@code r}'s prompt, so {@code r} submitted next computes only the rest
     * (see {@link KvCacheManager#importPrefix}); returns the leading prompt blocks now cached. Engine thread.
     */
    public int importPrefix(GenerateRequest r, ai.armature.serving.runner.KvBlocks blocks) {
        int n = kv.importPrefix(r.cacheSalt(), r.promptTokens(), blocks, runner);
        publishStats();
        return n;
    }

    /** What this worker holds in each KV tier and the last KV event id, coherent with the events (engine thread only). */
    public KvCacheSnapshot kvSnapshot() {
        return kv.snapshot();
    }

    /** Steps run so far. */
    public long steps() {
        return steps;
    }

    /** Preemptions so far. */
    public long preemptions() {
        return scheduler.preemptions();
    }

    /** Whether any request is waiting or running, or KV blocks are still being copied up (they hold device blocks). */
    public boolean hasWork() {
        return scheduler.hasWork() || kv.hasPendingLoads();
    }

    /** Counters of the KV tiers below the device pool (empty without them); thread-safe. */
    public java.util.List<ai.armature.protocol.kv.KvTierStats> kvTierStats() {
        return kv.tierStats();
    }

    /** Cumulative activity counters as of the end of the last step or change; thread-safe. */
    public ServingCounters counters() {
        return counters;
    }

    /** A snapshot of load and cache counters as of the end of the last step or change; thread-safe. */
    public EngineStats stats() {
        return snapshot;
    }

    /** Checks a request against this worker's limits; thread-safe. Throws {@link RequestRejectedException}. */
    public void validate(GenerateRequest r) {
        int n = r.promptTokens().length;
        for (int t : r.promptTokens()) {
            if (t < 0 || t >= vocabSize) {
                throw new RequestRejectedException(RequestRejectedException.Reason.INVALID,
                        "prompt token id " + t + " is outside the model's vocabulary [0, " + vocabSize + ")");
            }
        }
        if (n >= maxContext) {
            throw new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG,
                    "the prompt has " + n + " tokens but the model's context is " + maxContext
                            + " tokens, which must also hold at least one generated token: shorten the prompt");
        }
        long capacity = (long) kv.totalBlocks() * blockSize;
        if (n > capacity) {
            throw new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG,
                    "the prompt has " + n + " tokens but this worker's whole KV cache holds " + capacity + " tokens ("
                            + kv.totalBlocks() + " blocks of " + blockSize + "): shorten the prompt or give the worker more --kv-cache-memory");
        }
    }

    /**
     * Compiles the request's output constraint (cached by constraint), or returns null when it has none; thread-safe,
     * so callers compile on their own thread rather than the engine's. Throws {@link RequestRejectedException}
     * (INVALID) when the constraint cannot be compiled or this worker has no vocabulary to compile it against.
     */
    public CompiledGrammar prepare(GenerateRequest r) {
        if (r.constraint() == null) return null;
        if (grammars == null) {
            throw new RequestRejectedException(RequestRejectedException.Reason.INVALID,
                    "this worker cannot constrain output (structured output): it was started without the model's tokenizer");
        }
        try {
            return grammars.compile(r.constraint());
        } catch (GrammarException e) {
            throw new RequestRejectedException(RequestRejectedException.Reason.INVALID, e.getMessage());
        }
    }

    /** Accepts a validated request; its outputs go to {@code sink} (on the engine thread). */
    public void add(GenerateRequest r, Consumer<GenerateOutput> sink) {
        add(r, r.constraint() == null ? null : prepare(r), sink);
    }

    /** Accepts a validated request whose constraint {@link #prepare} compiled ({@code grammar}, or null). */
    public void add(GenerateRequest r, CompiledGrammar grammar, Consumer<GenerateOutput> sink) {
        add(r, grammar, sink, null);
    }

    /**
     * Accepts a validated request whose prompt's leading blocks arrived from another worker into {@code received}
     * (see {@link #reserveImport}; null: none): they are registered in the prefix cache and held for the request
     * until it is admitted, so it computes only what did not arrive.
     */
    public void add(GenerateRequest r, CompiledGrammar grammar, Consumer<GenerateOutput> sink, KvImport received) {
        int[] prefix = received == null ? null : kv.commitImport(received);
        if (prefix != null && prefix.length == 0) prefix = null;
        if (!admitNew(r, grammar, sink, prefix) && prefix != null) kv.releasePrefix(prefix);
        publishStats();
    }

    /**
     * Reserves device blocks for the K/V of {@code r}'s prompt that another worker computed (the decode side of a
     * KV transfer): the prompt's full blocks but the one holding its last token, which this worker computes (see
     * {@link KvCacheManager#reserveImport}). Fill it, then {@link #add(GenerateRequest, CompiledGrammar, Consumer,
     * KvImport) add} the request with it, or {@link #abortImport} it.
     */
    public KvImport reserveImport(GenerateRequest r) {
        KvImport imp = kv.reserveImport(r.cacheSalt(), r.promptTokens(), (r.promptTokens().length - 1) / blockSize, runner);
        publishStats();
        return imp;
    }

    /** Gives back what an import reserved (its request will not run here). */
    public void abortImport(KvImport imp) {
        kv.abortImport(imp);
        publishStats();
    }

    /**
     * The blocks a finished request left held for a decode worker to fetch (its {@link KvTransfer.Hold}), for one
     * reader, who must {@link #releaseHold} them; null if unknown, expired or claimed. See {@link KvCacheManager#claimHold}.
     */
    public int[] claimHold(String transferId) {
        return kv.claimHold(transferId);
    }

    /** Drops a hold (fetched, or not wanted); false if there was none. */
    public boolean releaseHold(String transferId) {
        boolean released = kv.releaseHold(transferId);
        if (released) publishStats();
        return released;
    }

    /** Drops holds nobody claimed within {@code maxAgeNanos}; returns how many. */
    public int expireHolds(long maxAgeNanos) {
        int n = kv.expireHolds(System.nanoTime() - maxAgeNanos);
        if (n > 0) publishStats();
        return n;
    }

    /** Transfers held for decode workers now. */
    public int holdCount() {
        return kv.holdCount();
    }

    /** The runner's block layout, if it can export and import blocks. */
    public java.util.Optional<ai.armature.serving.runner.KvLayout> kvLayout() {
        return runner.kvLayout();
    }

    /** The K/V of blocks {@code ids} (held or otherwise never written again); any thread. */
    public ai.armature.serving.runner.KvBlocks exportBlocks(int[] ids) {
        return runner.exportBlocks(ids);
    }

    private boolean admitNew(GenerateRequest r, CompiledGrammar grammar, Consumer<GenerateOutput> sink, int[] prefixHold) {
        if (live.containsKey(r.requestId())) {
            sink.accept(new GenerateOutput(r.requestId(), new int[0], null, FinishReason.ERROR,
                    new Usage(r.originalPromptLength(), 0, r.priorGeneratedTokens()), "a request with id " + r.requestId() + " is already running"));
            queueSlotReleased.run();
            return false;
        }
        long capacity = (long) kv.totalBlocks() * blockSize + 1;
        long cap = Math.min(Math.min((long) r.promptTokens().length + r.stop().maxTokens(), maxContext), capacity);
        ConstraintState constraint = null;
        if (grammar != null) {
            constraint = new ConstraintState(grammar);
            // A resumed request's earlier output is the tail of its prompt: the constraint continues after it.
            int[] p = r.promptTokens();
            for (int i = r.originalPromptLength(); i < p.length; i++) {
                if (!isEos(p[i]) && !constraint.matcher.accept(p[i])) {
                    sink.accept(new GenerateOutput(r.requestId(), new int[0], null, FinishReason.ERROR,
                            new Usage(r.originalPromptLength(), 0, r.priorGeneratedTokens()),
                            "the resumed request's earlier output does not satisfy its output constraint"));
                    queueSlotReleased.run();
                    return false;
                }
            }
            constraint.schedule(maskThread);
        }
        Sequence s = new Sequence(nextSequenceId, nextSequenceId, r, sink, (int) cap, kv.newBlockTable(r.cacheSalt()), eosIds);
        nextSequenceId++;
        s.constraint = constraint;
        s.prefixHold = prefixHold;
        live.put(r.requestId(), s);
        scheduler.add(s);
        return true;
    }

    /** Cancels a request: frees its blocks now and sends its final CANCELLED output. Returns false if unknown. */
    public boolean cancel(String requestId) {
        Sequence s = live.get(requestId);
        if (s == null) return false;
        finish(s, FinishReason.CANCELLED, null);
        publishStats();
        flush();
        return true;
    }

    /** Ends every request with an ERROR output carrying {@code message} (shutdown or a fatal failure). */
    public void failAll(String message) {
        for (Sequence s : List.copyOf(live.values())) finish(s, FinishReason.ERROR, message);
        publishStats();
        flush();
    }

    /**
     * Stops the constraint mask thread (if it ever started), finishes the KV tiers' queued copies and frees them.
     * After the last step; the runner is closed after this.
     */
    public void close() {
        maskThread.close();
        kv.close();
    }

    /** Drops every cached block not in use (a prefix-cache reset), publishing AllBlocksCleared. */
    public void resetPrefixCache() {
        kv.resetPrefixCache();
        publishStats();
    }

    /** Runs one step; returns false if there was nothing to do. */
    public boolean step() {
        List<Sequence> planned = scheduler.schedule();
        if (planned.isEmpty()) {
            boolean waited = kv.hasPendingLoads();
            if (waited) kv.awaitLoads(); // only sequences whose blocks are being copied up: wait for the copies
            publishStats();
            flush();
            return waited;
        }
        steps++;
        List<Sequence> batch = List.copyOf(planned);
        List<ScheduledSequence> work = new ArrayList<>(batch.size());
        for (Sequence s : batch) {
            if (s.holdsQueueSlot) {
                s.holdsQueueSlot = false;
                queueSlotReleased.run();
            }
            boolean sample = s.stepStart + s.stepCount == s.length;
            if (sample) s.random.seek(s.length);
            work.add(new ScheduledSequence(s.id, s.tokens, s.length, s.originalPromptLength(), s.stepStart, s.stepCount,
                    s.blocks.ids(), sample, s.request.sampling(), s.random, sample ? s.constraint : null,
                    // A constraint decides where its output may end; min_tokens holds off end tokens only without one.
                    sample && s.constraint == null ? s.forbiddenNow() : null, s.promptLogprobs));
        }
        SampledToken[] sampled;
        long started = runner.nanoTime();
        try {
            sampled = runner.execute(work);
            timeStep(batch, runner.nanoTime() - started);
            if (sampled.length != batch.size()) {
                throw new IllegalStateException("the runner returned " + sampled.length + " results for " + batch.size() + " sequences");
            }
        } catch (RuntimeException e) {
            LOG.warning(() -> "model runner failed a step of " + batch.size() + " sequences: " + e);
            for (Sequence s : batch) {
                s.scheduled = false;
                finish(s, FinishReason.ERROR, "the model failed: " + e.getMessage());
            }
            publishStats();
            flush();
            return true;
        }
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            s.scheduled = false;
            if (!s.decoding()) prefillTokens += s.stepCount;
            s.computed += s.stepCount;
            kv.cacheFullBlocks(s.blocks, s.tokens, s.computed);
            if (work.get(i).sample()) {
                SampledToken t = sampled[i];
                if (t == null) {
                    finish(s, FinishReason.ERROR, "the model returned no token");
                    continue;
                }
                if (t.tokenId() < 0 && s.constraint != null) {
                    String why = s.constraint.error();
                    finish(s, FinishReason.ERROR, why != null ? "the output constraint failed: " + why
                            : "no token of the model's vocabulary can continue the output under its constraint");
                    continue;
                }
                accept(s, t);
            }
        }
        publishStats();
        flush();
        return true;
    }

    /** Adds a step's duration to the busy time, and to the prompt steps' time with its prompt tokens if it computed any. */
    private void timeStep(List<Sequence> batch, long nanos) {
        busyNanos += nanos;
        long prompt = 0;
        for (Sequence s : batch) if (!s.decoding()) prompt += s.stepCount;
        if (prompt > 0) {
            promptStepNanos += nanos;
            promptStepTokens += prompt;
        }
    }

    private void accept(Sequence s, SampledToken t) {
        int token = t.tokenId();
        s.append(token);
        generatedTokens++;
        if (t.logprob() != null) s.addLogprob(t.logprob());
        var stop = s.request.stop();
        ConstraintState c = s.constraint;
        if (c != null && !isEos(token) && !c.matcher.accept(token)) {
            finish(s, FinishReason.ERROR, "the model chose token " + token + ", which its output constraint does not allow");
            return;
        }
        // Under a constraint an end token can only have been chosen where the output is complete: it ends the
        // sequence even with ignore_eos, since nothing else may follow. Otherwise runners never sample a stop
        // token before min_tokens.
        boolean mayStop = c != null || s.generated > stop.minTokens();
        if (mayStop && (stop.isStopToken(token) || ((!stop.ignoreEos() || c != null) && isEos(token)))) {
            // The stop token is neither sent nor counted in usage unless the request asked for it.
            finish(s, FinishReason.STOP, null, !stop.includeStopToken());
        } else if (c != null && c.matcher.isComplete() && !c.matcher.canContinue()) {
            // The constrained output is complete and nothing may follow: stop without spending a step on the end token.
            finish(s, FinishReason.STOP, null, false);
        } else if (s.length >= s.maxLength) {
            finish(s, FinishReason.LENGTH, null, false);
        } else {
            emit(s, null, null, false);
            if (c != null) c.schedule(maskThread);
        }
    }

    private boolean isEos(int token) {
        for (int e : eosIds) if (e == token) return true;
        return false;
    }

    private void finish(Sequence s, FinishReason reason, String error) {
        finish(s, reason, error, false);
    }

    private void finish(Sequence s, FinishReason reason, String error, boolean dropLastToken) {
        if (s.status == Sequence.Status.FINISHED) return;
        if (reason == FinishReason.LENGTH && s.request.kvTransfer() instanceof KvTransfer.Hold h) {
            // A prefill for a decode worker: keep the prompt's full blocks (all computed, all registered) for it.
            kv.hold(h.transferId(), s.blocks, Math.min(s.computed, s.promptLength) / blockSize, System.nanoTime());
        }
        scheduler.finish(s);
        s.status = Sequence.Status.FINISHED;
        finishedRequests++;
        live.remove(s.requestId());
        if (s.holdsQueueSlot) {
            s.holdsQueueSlot = false;
            queueSlotReleased.run();
        }
        emit(s, reason, error, dropLastToken);
    }

    /** Queues the tokens generated since the last output (and the finish reason, if any) for delivery. */
    private void emit(Sequence s, FinishReason reason, String error, boolean dropLastToken) {
        int to = dropLastToken ? s.length - 1 : s.length;
        int from = Math.min(s.sent, to);
        int[] ids = Arrays.copyOfRange(s.tokens, from, to);
        s.sent = s.length;
        List<TokenLogprob> logprobs = null;
        if (s.pendingLogprobs != null && !s.pendingLogprobs.isEmpty()) {
            if (dropLastToken) s.pendingLogprobs.removeLast();
            if (!s.pendingLogprobs.isEmpty()) logprobs = List.copyOf(s.pendingLogprobs);
            s.pendingLogprobs.clear();
        }
        List<TokenLogprob> promptLogprobs = null;
        if (s.promptLogprobs != null && s.length > s.promptLength) {
            // A token was sampled, so every prompt position has been computed.
            promptLogprobs = java.util.Collections.unmodifiableList(Arrays.asList(s.promptLogprobs.clone()));
            s.promptLogprobs = null;
        }
        int completion = dropLastToken ? s.totalGenerated() - 1 : s.totalGenerated();
        var out = new GenerateOutput(s.requestId(), ids, logprobs, reason,
                new Usage(s.originalPromptLength(), Math.clamp(s.cachedPromptTokens, 0, s.originalPromptLength()), completion), error,
                promptLogprobs);
        Consumer<GenerateOutput> sink = s.sink;
        deliveries.add(() -> sink.accept(out));
    }

    private void flush() {
        for (Runnable r : deliveries) r.run();
        deliveries.clear();
    }

    private void publishStats() {
        kv.publishStats();
        snapshot = new EngineStats(scheduler.waitingCount(), scheduler.runningCount(), kv.totalBlocks(),
                kv.usedBlocks(), kv.cachedFreeBlocks(), kv.prefixQueryTokens(), kv.prefixHitTokens(),
                scheduler.pendingPrefillTokens(), kv.lastEventId(), busyNanos / 1e9, promptStepNanos / 1e9, promptStepTokens);
        counters = new ServingCounters(steps, scheduler.preemptions(), prefillTokens, generatedTokens, finishedRequests);
    }
}
