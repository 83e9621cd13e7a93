package ai.armature.planner.signal;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.Usage;

/**
 * A model's engine that makes requests wait while the model has no worker, instead of failing them: the way a
 * pool scaled to zero comes back. A request that arrives when {@code hasWorker} is false (or that the engine refuses
 * because no worker is left) is held: its stream blocks in {@link GenerationStream#next()} until a worker is
 * available ({@link #workerAvailable()} wakes it), then it is submitted. {@code heldChanged} hears the number held
 * each time it changes (the frontend publishes it for the planner, which starts a worker at once). A held request
 * that waits longer than {@code maxWait} ends with an error saying so; one cancelled or closed while held ends at
 * once. Thread-safe.
 */
public final class HoldingEngine implements GenerationEngine {

    private final GenerationEngine inner;
    private final BooleanSupplier hasWorker;
    private final long maxWaitNanos;
    private final IntConsumer heldChanged;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final java.util.Map<String, HeldStream> held = new java.util.HashMap<>();
    private long generation;

    public HoldingEngine(GenerationEngine inner, BooleanSupplier hasWorker, Duration maxWait, IntConsumer heldChanged) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.hasWorker = Objects.requireNonNull(hasWorker, "hasWorker");
        if (maxWait.isNegative() || maxWait.isZero()) throw new IllegalArgumentException("the hold timeout must be > 0");
        this.maxWaitNanos = maxWait.toNanos();
        this.heldChanged = Objects.requireNonNull(heldChanged, "heldChanged");
    }

    /** Requests held now. */
    public int held() {
        lock.lock();
        try {
            return held.size();
        } finally {
            lock.unlock();
        }
    }

    /** A worker joined: held requests try again. */
    public void workerAvailable() {
        lock.lock();
        try {
            generation++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        if (hasWorker.getAsBoolean()) {
            try {
                return inner.submit(request);
            } catch (RequestRejectedException e) {
                // The last worker left between the check and the submit: hold it like the others.
                if (e.reason() != RequestRejectedException.Reason.SHUTTING_DOWN || hasWorker.getAsBoolean()) throw e;
            }
        }
        HeldStream s = new HeldStream(request);
        int n;
        lock.lock();
        try {
            if (held.putIfAbsent(request.requestId(), s) != null) {
                throw new RequestRejectedException(RequestRejectedException.Reason.INVALID,
                        "a request with id " + request.requestId() + " is already waiting: use a unique request id");
            }
            n = held.size();
        } finally {
            lock.unlock();
        }
        heldChanged.accept(n);
        return s;
    }

    @Override
    public void cancel(String requestId) {
        HeldStream s;
        lock.lock();
        try {
            s = held.get(requestId);
            if (s != null) {
                s.cancelled = true;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (s == null) inner.cancel(requestId);
    }

    @Override
    public EngineStats stats() {
        return inner.stats();
    }

    /** Healthy while the engine is: a model at zero workers still takes (and holds) requests. */
    @Override
    public boolean healthy() {
        return true;
    }

    @Override
    public int maxContextTokens() {
        return inner.maxContextTokens();
    }

    @Override
    public void close() {
        inner.close();
    }

    private void release(HeldStream s) {
        int n;
        lock.lock();
        try {
            if (held.remove(s.request.requestId(), s)) n = held.size();
            else return;
        } finally {
            lock.unlock();
        }
        heldChanged.accept(n);
    }

    /** A request waiting for a worker; once submitted, the inner stream's outputs. One consumer. */
    private final class HeldStream implements GenerationStream {
        final GenerateRequest request;
        final long since = System.nanoTime();
        volatile boolean cancelled;
        private volatile GenerationStream inner;
        private boolean done;

        HeldStream(GenerateRequest request) {
            this.request = request;
        }

        @Override
        public String requestId() {
            return request.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            if (done) return null;
            if (inner == null) {
                GenerateOutput end = waitAndSubmit();
                if (end != null) {
                    done = true;
                    return end;
                }
            }
            return inner.next();
        }

        /** Blocks until submitted (returns null) or the request ends while held (returns its last output). */
        private GenerateOutput waitAndSubmit() throws InterruptedException {
            try {
                while (true) {
                    long seen;
                    lock.lock();
                    try {
                        seen = generation;
                        if (cancelled) return end(FinishReason.CANCELLED, null, null);
                        long left = maxWaitNanos - (System.nanoTime() - since);
                        if (left <= 0) {
                            return end(FinishReason.ERROR, GenerateOutput.ErrorKind.UNAVAILABLE, "no worker of this model became available within " + maxWaitNanos / 1_000_000_000L
                                    + " s: the model is scaled to zero and none started (is the planner running?); retry later");
                        }
                        if (!hasWorker.getAsBoolean()) {
                            changed.await(Math.min(left, TimeUnit.SECONDS.toNanos(1)), TimeUnit.NANOSECONDS);
                            continue;
                        }
                    } finally {
                        lock.unlock();
                    }
                    try {
                        inner = HoldingEngine.this.inner.submit(request);
                        return null;
                    } catch (RequestRejectedException e) {
                        if (e.reason() != RequestRejectedException.Reason.SHUTTING_DOWN) {
                            // Refused once a worker saw it: the frontend answers as it would have at submit (400, 503).
                            return end(FinishReason.ERROR, GenerateOutput.ErrorKind.of(e.reason()), e.getMessage());
                        }
                        // The worker left again: wait for the next one.
                        lock.lock();
                        try {
                            if (generation == seen && !cancelled) changed.await(100, TimeUnit.MILLISECONDS);
                        } finally {
                            lock.unlock();
                        }
                    }
                }
            } finally {
                release(this);
            }
        }

        private GenerateOutput end(FinishReason reason, GenerateOutput.ErrorKind kind, String error) {
            return new GenerateOutput(request.requestId(), new int[0], null, reason,
                    new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens()), error, null, kind);
        }

        @Override
        public void close() {
            if (inner != null) {
                inner.close();
            } else {
                cancelled = true;
                lock.lock();
                try {
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
                release(this);
            }
        }
    }
}
