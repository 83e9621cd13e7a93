package ai.armature.router.disagg;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.logging.Logger;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.Migration;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.protocol.kv.KvTierStats;
import ai.armature.router.Router;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.router.policy.RemotePrefillRule;

/**
 * Disaggregated prefill and decode over one model's {@link Router}, as the model's {@link GenerationEngine}. While
 * the router has decode workers, each request goes through {@link Router#routeDisaggregated}: a decode worker (or an
 * aggregated one) is chosen by the router's cost, and when the {@link RemotePrefillRule} says the prompt tokens it
 * would compute are worth it and a prefill worker's queue allows, the prompt is prefilled there:
 * <ol>
 *   <li>the prefill worker runs the request for one token with {@link KvTransfer.Hold}: it computes the prompt
 *       (reusing its own prefix cache) and the first token, and keeps the prompt's full blocks;</li>
 *   <li>the first token goes to the client at once;</li>
 *   <li>the decode worker gets the request with that token appended as already generated ({@link Migration}: the
 *       sampler continues at the next position, so greedy output is the aggregated one and seeded sampling stays
 *       reproducible) and {@link KvTransfer.Fetch}: it pulls the held blocks it does not cache, computes only the
 *       prompt's last partial block and continues. The first token is neither generated twice nor lost.</li>
 * </ol>
 * Otherwise the decode worker prefills locally. A prefill worker that refuses, fails or dies before its token makes
 * the request prefill locally on a decode worker (a fallback, counted); a transfer that fails or times out is the
 * decode worker's to absorb (it computes what did not arrive). A request that reached its decode worker is that
 * worker's: if it is lost there, the stream throws {@link ai.armature.protocol.WorkerLostException} for request
 * migration above. With no decode worker registered, requests go to the aggregated workers ({@link Router#submit}).
 * When no decode or aggregated worker is available (all gone, or all excluded) but prefill workers remain, the
 * prefill workers serve whole requests (they can decode; counted as {@link RemotePrefillRule.Choice#LOCAL_NO_DECODE_WORKER})
 * until decode workers return, instead of refusing the model's requests.
 *
 * <p>The hand-off to the decode worker starts the moment the first token is there, on the {@code handOff} executor
 * (a virtual thread per request by default, so a remote submit's round trip overlaps with the first token's way
 * to the client; the simulator runs it inline, in virtual time), and the stream's next read waits for it.
 *
 * <p>Prefill workers hold a request's blocks until a decode worker fetched them or their transfer timeout passes;
 * a client that cancels in the instant between the first token and the decode submit leaves that hold to expire.
 * Thread-safe.
 */
public final class DisaggregatedRouter implements GenerationEngine {

    private static final Logger LOG = Logger.getLogger(DisaggregatedRouter.class.getName());

    /** Hears each request's prefill placement (for metrics); thread-safe and quick. */
    public interface Listener {
        Listener NONE = new Listener() {
            @Override
            public void placed(RemotePrefillRule.Choice choice) {
            }

            @Override
            public void fellBack(String reason) {
            }
        };

        /** A request with decode workers to go to was placed: prefilled remotely, or locally and why. */
        void placed(RemotePrefillRule.Choice choice);

        /** A remote prefill did not produce the first token (the prefill worker refused, failed or died): prefilled locally. */
        void fellBack(String reason);
    }

    private static final Predicate<WorkerEndpoint> DECODE_POOL = w -> w.role() == WorkerRole.DECODE || w.role() == WorkerRole.AGGREGATED;
    private static final Predicate<WorkerEndpoint> PREFILL_POOL = w -> w.role() == WorkerRole.PREFILL;

    private final Router router;
    private final RemotePrefillRule rule;
    private final Function<String, String> transferAddress;
    private final Listener listener;
    private final Executor handOff;
    private final Map<String, DisaggregatedStream> streams = new ConcurrentHashMap<>();
    private volatile boolean servingWholeOnPrefill;

    /**
     * @param transferAddress where a prefill worker (by id) serves its held blocks to decode workers: its request
     *                        plane's {@code host:port}, or "" for a worker in this process
     */
    public DisaggregatedRouter(Router router, RemotePrefillRule rule, Function<String, String> transferAddress, Listener listener) {
        this(router, rule, transferAddress, listener, task -> Thread.ofVirtual().name("armature-kv-handoff").start(task));
    }

    /** @param handOff runs each request's submit to its decode worker once its first token is there */
    public DisaggregatedRouter(Router router, RemotePrefillRule rule, Function<String, String> transferAddress, Listener listener,
                               Executor handOff) {
        this.router = router;
        this.rule = rule;
        this.transferAddress = transferAddress;
        this.listener = listener == null ? Listener.NONE : listener;
        this.handOff = java.util.Objects.requireNonNull(handOff, "handOff");
    }

    /** The id under which a request's prefill half runs on its prefill worker. */
    public static String prefillRequestId(String requestId) {
        return requestId + "~p";
    }

    public Router router() {
        return router;
    }

    public RemotePrefillRule rule() {
        return rule;
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        Set<String> exclude = request.migration() == null ? Set.of() : request.migration().excludedWorkerIds();
        if (!router.hasRole(WorkerRole.DECODE)) {
            if (router.hasRole(WorkerRole.AGGREGATED) || !router.hasRole(WorkerRole.PREFILL)) return router.submit(request);
            return submitWhole(request, exclude, true);
        }
        if (request.stop().maxTokens() < 2 || request.promptTokens().length + 1 >= router.maxContextTokens()) {
            return submitWhole(request, exclude, false); // one token at most: nothing to hand over
        }
        String prefillId = prefillRequestId(request.requestId());
        Router.DisaggregatedRoute route = router.routeDisaggregated(request, prefillId, DECODE_POOL, PREFILL_POOL, rule, exclude);
        if (route == null) return submitWhole(request, exclude, true);
        listener.placed(route.choice());
        if (route.prefill() == null) return submitLocally(route.decode(), request, exclude);
        String transferId = UUID.randomUUID().toString();
        GenerateRequest prefill = new GenerateRequest(prefillId, request.promptTokens(), request.sampling(),
                new StopConditions(1, request.stop().stopTokenIds(), request.stop().ignoreEos(), request.stop().includeStopToken()),
                request.priority(), request.cacheSalt(), request.migration(), request.constraint(), new KvTransfer.Hold(transferId));
        GenerationStream prefillStream;
        try {
            prefillStream = router.submit(route.prefill(), prefill);
        } catch (RuntimeException e) {
            fellBack(request, route.prefill().worker().id(), "refused the prefill: " + e.getMessage());
            router.unroute(request.requestId());
            return submitWhole(request, exclude, false);
        }
        DisaggregatedStream s = new DisaggregatedStream(request, route, prefillStream, transferId, exclude);
        streams.put(request.requestId(), s);
        return s;
    }

    private GenerationStream submitLocally(Router.Route decode, GenerateRequest request, Set<String> exclude) {
        try {
            return router.submit(decode, request);
        } catch (RequestRejectedException e) {
            RequestRejectedException.Reason reason = e.reason();
            if (reason != RequestRejectedException.Reason.SHUTTING_DOWN && reason != RequestRejectedException.Reason.QUEUE_FULL) throw e;
            Set<String> skip = new HashSet<>(exclude);
            skip.add(decode.worker().id());
            return router.submit(request, DECODE_POOL, skip);
        }
    }

    /**
     * Submits a whole request (prefill and decode on one worker) to a decode or aggregated worker; when none is
     * available (none registered, all gone or excluded) but prefill workers are, to a prefill worker: they decode
     * too, and serving whole requests there beats refusing them until decode workers return. {@code placedNow}: no
     * placement was reported for the request yet.
     */
    private GenerationStream submitWhole(GenerateRequest request, Set<String> exclude, boolean placedNow) {
        if (router.hasRole(WorkerRole.DECODE) || router.hasRole(WorkerRole.AGGREGATED)) {
            try {
                GenerationStream s = router.submit(request, DECODE_POOL, exclude);
                if (servingWholeOnPrefill) {
                    servingWholeOnPrefill = false;
                    LOG.info("decode workers are back: prefill workers prefill only again");
                }
                return s;
            } catch (RequestRejectedException e) {
                if (e.reason() != RequestRejectedException.Reason.SHUTTING_DOWN || !router.hasRole(WorkerRole.PREFILL)) throw e;
            }
        }
        GenerationStream s = router.submit(request, PREFILL_POOL, exclude);
        if (placedNow) listener.placed(RemotePrefillRule.Choice.LOCAL_NO_DECODE_WORKER);
        if (!servingWholeOnPrefill) {
            servingWholeOnPrefill = true;
            LOG.warning("no decode worker is available: prefill workers serve whole requests until one returns");
        }
        return s;
    }

    private void fellBack(GenerateRequest request, String workerId, String why) {
        listener.fellBack("prefill_failed");
        LOG.warning(() -> "request " + request.requestId() + ": prefill worker " + workerId + " " + why + "; prefilling on a decode worker");
    }

    @Override
    public void cancel(String requestId) {
        DisaggregatedStream s = streams.get(requestId);
        if (s != null) s.close();
        else router.cancel(requestId);
    }

    @Override
    public EngineStats stats() {
        return router.stats();
    }

    @Override
    public java.util.List<KvTierStats> kvTierStats() {
        return router.kvTierStats();
    }

    @Override
    public boolean healthy() {
        return router.healthy();
    }

    @Override
    public int maxContextTokens() {
        return router.maxContextTokens();
    }

    @Override
    public void close() {
        router.close();
    }

    /** One request prefilled on one worker and decoded on another. */
    private final class DisaggregatedStream implements GenerationStream {
        private final GenerateRequest request;
        private final Router.DisaggregatedRoute route;
        private final String transferId;
        private final Set<String> exclude;
        /** The stream read now: the prefill worker's, then the decode worker's. Swapped under this object's lock. */
        private GenerationStream current;
        /** Whether the decode worker's booking became a stream (so closing need not release it). */
        private boolean decodeSubmitted;
        /** Completed with the decode worker's stream (null: closed before the hand-off), set with the first token. */
        private CompletableFuture<GenerationStream> handedOff;
        private boolean closed;
        private boolean prefilling = true;
        private boolean fallback;
        private volatile boolean ended;
        private int cachedPromptTokens;

        DisaggregatedStream(GenerateRequest request, Router.DisaggregatedRoute route, GenerationStream prefill, String transferId,
                            Set<String> exclude) {
            this.request = request;
            this.route = route;
            this.current = prefill;
            this.transferId = transferId;
            this.exclude = exclude;
        }

        @Override
        public String requestId() {
            return request.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            if (ended) return null;
            try {
                if (prefilling) {
                    prefilling = false;
                    GenerateOutput first = prefill();
                    if (first != null) return first;
                }
                GenerationStream s;
                CompletableFuture<GenerationStream> h;
                synchronized (this) {
                    h = handedOff;
                    s = current;
                }
                if (h != null) {
                    s = awaitHandOff(h);
                    if (s == null) return end(cancelled());
                }
                GenerateOutput out = s.next();
                if (out == null) return end(null);
                Usage u = out.usage();
                if (!fallback && u != null) u = new Usage(u.promptTokens(), cachedPromptTokens, u.completionTokens());
                GenerateOutput fixed = new GenerateOutput(request.requestId(), out.tokenIds(), out.logprobs(), out.finishReason(), u, out.error(),
                        out.promptLogprobs(), out.errorKind());
                return out.finished() ? end(fixed) : fixed;
            } catch (RequestRejectedException e) {
                // No decode worker takes it (all gone or full): the request ends with the reason (503 when none is left).
                return end(GenerateOutput.failed(request.requestId(), new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens()),
                        GenerateOutput.ErrorKind.of(e.reason()), e.getMessage()));
            }
        }

        private GenerationStream awaitHandOff(CompletableFuture<GenerationStream> h) throws InterruptedException {
            try {
                GenerationStream s = h.get();
                synchronized (this) {
                    handedOff = null;
                }
                return s;
            } catch (ExecutionException e) {
                synchronized (this) {
                    handedOff = null;
                }
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException(e.getCause());
            }
        }

        /** Submits the decode half (on the hand-off executor); a stream closed meanwhile is closed, or never submitted. */
        private void handOff(GenerateRequest d, CompletableFuture<GenerationStream> result) {
            GenerationStream s;
            try {
                synchronized (this) {
                    if (closed) {
                        router.unroute(request.requestId());
                        result.complete(null);
                        return;
                    }
                }
                s = submitDecode(d);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
                return;
            }
            boolean close;
            synchronized (this) {
                current = s;
                decodeSubmitted = true;
                close = closed;
            }
            if (close) s.close();
            result.complete(s);
        }

        /**
         * The prefill phase: returns the first token's output (final when nothing more is to come), or null after
         * falling back to a local prefill ({@link #current} is then the decode worker's stream).
         */
        private GenerateOutput prefill() throws InterruptedException {
            GenerationStream p;
            synchronized (this) {
                p = current;
            }
            GenerateOutput out = null;
            String why = null;
            int[] tokens = new int[0];
            java.util.List<ai.armature.protocol.TokenLogprob> logprobs = null;
            GenerateRequest decode;
            CompletableFuture<GenerationStream> result;
            try {
                for (GenerateOutput o; (o = p.next()) != null; ) {
                    tokens = concat(tokens, o.tokenIds());
                    if (o.logprobs() != null) {
                        if (logprobs == null) logprobs = new java.util.ArrayList<>();
                        logprobs.addAll(o.logprobs());
                    }
                    out = o;
                    if (o.finished()) break;
                }
                if (out == null || !out.finished()) why = "ended its stream without a result";
                else if (out.finishReason() == FinishReason.ERROR) why = "failed: " + out.error();
                else if (out.finishReason() == FinishReason.CANCELLED) why = "cancelled it";
            } catch (RuntimeException e) {
                why = "was lost: " + e.getMessage();
            } finally {
                p.close();
            }
            synchronized (this) {
                if (closed) {
                    router.unroute(request.requestId());
                    return end(cancelled());
                }
                if (why != null) {
                    fellBack(request, route.prefill().worker().id(), why);
                    router.unroute(request.requestId());
                    fallback = true;
                    Set<String> skip = new HashSet<>(exclude);
                    skip.add(route.prefill().worker().id());
                    current = submitWhole(request, skip, false);
                    decodeSubmitted = true;
                    return null;
                }
                cachedPromptTokens = out.usage() == null ? 0 : out.usage().cachedPromptTokens();
                if (out.finishReason() != FinishReason.LENGTH || tokens.length != 1) {
                    // It ended at its first token (an end-of-generation or stop token): the decode worker is not needed.
                    router.unroute(request.requestId());
                    return end(new GenerateOutput(request.requestId(), tokens, logprobs, out.finishReason(), out.usage(), out.error(),
                            out.promptLogprobs(), out.errorKind()));
                }
                decode = decodeRequest(tokens[0]);
                result = new CompletableFuture<>();
                handedOff = result;
            }
            GenerateRequest d = decode;
            CompletableFuture<GenerationStream> r = result;
            handOff.execute(() -> handOff(d, r));
            return new GenerateOutput(request.requestId(), tokens, logprobs, null, out.usage(), null);
        }

        /** The request for the decode worker: the first token appended as generated, and where its prompt's K/V is held. */
        private GenerateRequest decodeRequest(int firstToken) {
            int[] p = request.promptTokens();
            int[] prompt = java.util.Arrays.copyOf(p, p.length + 1);
            prompt[p.length] = firstToken;
            Migration m = request.migration();
            Migration carried = new Migration(request.priorGeneratedTokens() + 1, m == null ? 1 : m.attempt(), exclude);
            StopConditions stop = new StopConditions(request.stop().maxTokens() - 1, request.stop().stopTokenIds(), request.stop().ignoreEos(),
                    request.stop().includeStopToken());
            String source = route.prefill().worker().id();
            return new GenerateRequest(request.requestId(), prompt, request.sampling(), stop, request.priority(), request.cacheSalt(), carried,
                    request.constraint(), new KvTransfer.Fetch(transferId, source, transferAddress.apply(source)));
        }

        /**
         * The decode half to the chosen decode worker, else another; with none left, to a prefill worker (the KV
         * router prefers the one holding the prompt's blocks, which then has nothing to fetch).
         */
        private GenerationStream submitDecode(GenerateRequest d) {
            try {
                return router.submit(route.decode(), d);
            } catch (RequestRejectedException e) {
                RequestRejectedException.Reason reason = e.reason();
                if (reason != RequestRejectedException.Reason.SHUTTING_DOWN && reason != RequestRejectedException.Reason.QUEUE_FULL) throw e;
                Set<String> skip = new HashSet<>(exclude);
                skip.add(route.decode().worker().id());
                return submitWhole(d, skip, false);
            }
        }

        private GenerateOutput cancelled() {
            return new GenerateOutput(request.requestId(), new int[0], null, FinishReason.CANCELLED,
                    new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens()), null);
        }

        private GenerateOutput end(GenerateOutput out) {
            ended = true;
            streams.remove(request.requestId(), this);
            return out;
        }

        @Override
        public void close() {
            GenerationStream c;
            boolean release;
            synchronized (this) {
                if (closed) return;
                closed = true;
                c = current;
                release = !decodeSubmitted && !ended && handedOff == null;
            }
            c.close();
            if (release) router.unroute(request.requestId());
            streams.remove(request.requestId(), this);
        }
    }

    private static int[] concat(int[] a, int[] b) {
        if (b.length == 0) return a;
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
