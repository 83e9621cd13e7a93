package ai.armature.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.serving.EngineCore;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.kv.KvImport;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.mock.SimClock;

/**
 * One simulated worker: the real {@link EngineCore} (scheduler, KV cache manager, KV events) over the mocker
 * runner, on its own {@link SimClock} that the event loop sets to the step's start; the step's simulated duration
 * moves it to the step's end. What a step produces (KV events, outputs) is held back and delivered when the loop
 * reaches the step's end, so other workers and the router see it at the right virtual time. As a
 * {@link GenerationEngine} it is what the router submits to; its streams never block (outputs are queued before
 * the consumer is told to read them).
 *
 * <p>Disaggregated serving: a prefill worker keeps a {@link KvTransfer.Hold} request's prompt blocks when it ends
 * (the real engine core does); a decode worker that gets a {@link KvTransfer.Fetch} request reserves blocks for the
 * prompt's full blocks it does not cache, claims the source worker's hold, and takes the request in once the blocks
 * arrive ({@link SimKvTransfers}: bytes over the link's bandwidth, in virtual time), with their contents (the
 * mocker's fingerprints) copied from the source's blocks; meanwhile it keeps stepping its other requests.
 */
final class SimWorker implements GenerationEngine {

    /** Who hears about a step's results. */
    interface Listener {
        void kvEvents(String workerId, List<KvEvent> events);

        /** An output of {@code requestId} is queued in its stream. */
        void output(String requestId);

        /** {@code requestId} reached this worker (from the router at once, or later from its wait queue). */
        default void submitted(String requestId) {
        }
    }

    private record Delivery(Stream stream, GenerateOutput output) {
    }

    private final String id;
    private final EventLoop loop;
    private final Listener listener;
    private final SimClock clock = new SimClock();
    private final MockModelRunner runner;
    private final EngineCore core;
    private final List<KvEvent> events = new ArrayList<>();
    private final List<Delivery> outputs = new ArrayList<>();
    /** Where KV transfers' sources are found and how long they take; null when the run does not disaggregate. */
    private final SimKvTransfers transfers;
    private final java.util.function.Function<String, SimWorker> peers;
    /** Requests whose prompt blocks are on their way here, by request id. */
    private final java.util.Map<String, Fetching> fetching = new java.util.HashMap<>();
    private boolean stepping;
    private boolean wakeScheduled;
    private boolean closed;
    /** The stats as of the last delivery: a step's effects are only visible once its end is reached. */
    private EngineStats delivered;
    /** Requests submitted and not yet ended (a draining worker hands these back past its drain timeout). */
    private final java.util.Set<String> inFlight = new java.util.LinkedHashSet<>();
    /** Run once the worker is idle (a drain waits for it). */
    private Runnable whenIdle;

    SimWorker(String id, MockProfile profile, ServingConfig config, EventLoop loop, Listener listener) {
        this(id, profile, config, loop, listener, null, w -> null);
    }

    SimWorker(String id, MockProfile profile, ServingConfig config, EventLoop loop, Listener listener, SimKvTransfers transfers,
              java.util.function.Function<String, SimWorker> peers) {
        this.transfers = transfers;
        this.peers = peers;
        this.id = id;
        this.loop = loop;
        this.listener = listener;
        this.runner = new MockModelRunner(profile, clock);
        this.core = new EngineCore(runner, config, events::add);
        this.delivered = core.stats();
    }

    String id() {
        return id;
    }

    EngineCore core() {
        return core;
    }

    /**
     * Simulated seconds this worker spent in steps whose end the event loop has reached: the engine's own busy time
     * ({@link EngineStats#busySeconds}, timed on the runner's clock), the figure the planner reads from its reports.
     */
    double busySeconds() {
        return delivered.busySeconds();
    }

    /** Whether the worker has requests or a step whose results are not delivered yet. */
    boolean busy() {
        return stepping || wakeScheduled || core.hasWork() || !fetching.isEmpty();
    }

    String kvNamespace() {
        return runner.modelName();
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        if (closed) throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "worker " + id + " is gone");
        core.validate(request);
        Stream s = new Stream(request.requestId());
        inFlight.add(request.requestId());
        listener.submitted(request.requestId());
        if (transfers != null && request.kvTransfer() instanceof KvTransfer.Fetch f) {
            fetch(request, f, s);
            return s;
        }
        core.add(request, out -> outputs.add(new Delivery(s, out)));
        wake();
        return s;
    }

    /** A request whose prompt blocks are in transit to this worker. */
    private record Fetching(GenerateRequest request, KvTransfer.Fetch source, KvImport reserved, Stream stream) {
    }

    /**
     * The decode side of a transfer: reserve, claim the source's hold, and take the request in when the blocks
     * arrive. Nothing arrives from a source that is gone or holds nothing (the request then computes its prompt).
     */
    private void fetch(GenerateRequest request, KvTransfer.Fetch f, Stream s) {
        KvImport reserved = core.reserveImport(request);
        delivered = core.stats();
        SimWorker source = peers.apply(f.sourceWorkerId());
        int[] held = source == null ? null : source.core.claimHold(f.transferId());
        int count = held == null ? 0 : Math.max(0, Math.min(reserved.capacity(), held.length - reserved.fromBlock()));
        Fetching fe = new Fetching(request, f, reserved, s);
        fetching.put(request.requestId(), fe);
        long arrives = count == 0 ? loop.now()
                : transfers.book(source.id, id, count, reserved.layout().blockBytes(), loop.now());
        loop.at(arrives, () -> arrived(fe, source, held, count));
    }

    private void arrived(Fetching fe, SimWorker source, int[] held, int count) {
        if (fetching.remove(fe.request.requestId()) != fe) return; // cancelled meanwhile
        if (count > 0) fe.reserved.copyFrom(source.runner, held, fe.reserved.fromBlock(), count);
        if (held != null) source.released(fe.source.transferId());
        Stream s = fe.stream;
        core.add(fe.request, null, out -> outputs.add(new Delivery(s, out)), fe.reserved);
        delivered = stepping ? delivered : core.stats();
        wake();
    }

    /** A decode worker is done with a hold of this worker's: its blocks go back to the prefix cache. */
    private void released(String transferId) {
        core.releaseHold(transferId);
        if (!stepping) delivered = core.stats();
    }

    @Override
    public void cancel(String requestId) {
        Fetching fe = fetching.remove(requestId);
        if (fe != null) {
            // Cancelled in transit: the reservation and the source's hold go back, the request ends here.
            core.abortImport(fe.reserved);
            SimWorker source = peers.apply(fe.source.sourceWorkerId());
            if (source != null) source.released(fe.source.transferId());
            GenerateRequest r = fe.request;
            outputs.add(new Delivery(fe.stream, new GenerateOutput(requestId, new int[0], null, FinishReason.CANCELLED,
                    new Usage(r.originalPromptLength(), 0, r.priorGeneratedTokens()), null)));
            wake();
            return;
        }
        if (core.cancel(requestId)) wake();
    }

    /** The worker's stats as of the end of its last step that the event loop has reached. */
    @Override
    public EngineStats stats() {
        return delivered;
    }

    @Override
    public boolean healthy() {
        return !closed;
    }

    @Override
    public int maxContextTokens() {
        return core.maxContextTokens();
    }

    @Override
    public void close() {
        closed = true;
    }

    /** The requests it runs or queues now. */
    java.util.Set<String> inFlight() {
        return java.util.Set.copyOf(inFlight);
    }

    /** Runs {@code r} (on the event loop) once the worker has nothing left to do: now if it is idle. */
    void whenIdle(Runnable r) {
        if (!busy()) {
            loop.at(loop.now(), r);
        } else {
            whenIdle = r;
        }
    }

    private void checkIdle() {
        if (whenIdle != null && !busy()) {
            Runnable r = whenIdle;
            whenIdle = null;
            r.run();
        }
    }

    /** Makes sure a step starts now (after the other actions of this instant, so simultaneous arrivals batch). */
    private void wake() {
        if (stepping || wakeScheduled) return;
        wakeScheduled = true;
        loop.at(loop.now(), this::stepStart);
    }

    private void stepStart() {
        wakeScheduled = false;
        if (stepping) return;
        clock.advanceTo(loop.now());
        boolean ran = core.step();
        if (!ran) {
            // With blocks reserved for transfers still in flight, requests may wait for room; an arrival wakes the worker.
            if (core.hasWork() && fetching.isEmpty()) {
                throw new IllegalStateException("worker " + id + ": the scheduler planned an empty step with requests pending");
            }
            deliver();
            checkIdle();
            return;
        }
        stepping = true;
        loop.at(clock.nanoTime(), this::stepEnd);
    }

    private void stepEnd() {
        stepping = false;
        deliver();
        if (core.hasWork()) stepStart();
        else checkIdle();
    }

    private void deliver() {
        delivered = core.stats();
        if (!events.isEmpty()) {
            List<KvEvent> batch = List.copyOf(events);
            events.clear();
            listener.kvEvents(id, batch);
        }
        if (outputs.isEmpty()) return;
        Delivery[] batch = outputs.toArray(new Delivery[0]);
        outputs.clear();
        for (Delivery d : batch) {
            if (d.output.finished()) inFlight.remove(d.stream.requestId);
            d.stream.queue.add(d.output);
            listener.output(d.stream.requestId);
        }
    }

    /** A request's outputs, queued by the worker; read only after {@link Listener#output} said one is there. */
    private static final class Stream implements GenerationStream {
        final String requestId;
        final ArrayDeque<GenerateOutput> queue = new ArrayDeque<>(4);

        Stream(String requestId) {
            this.requestId = requestId;
        }

        @Override
        public String requestId() {
            return requestId;
        }

        @Override
        public GenerateOutput next() {
            return queue.poll();
        }

        @Override
        public void close() {
        }
    }
}
