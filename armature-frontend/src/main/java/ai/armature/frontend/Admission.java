package ai.armature.frontend;

import ai.armature.protocol.GenerationEngine;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Admits generation requests up to a limit of sequences in flight (429 beyond it), refuses everything once
 * draining (503), and keeps track of admitted requests so that a drain can wait for them and then cancel what is
 * left. Every admitted request must be {@linkplain #release released} exactly once, whatever happens to it.
 */
final class Admission {

    /** One admitted HTTP request: the thread serving it and the engine request ids it submitted. */
    static final class Ticket {
        final long id;
        final int sequences;
        final Thread thread;
        final List<String> engineRequestIds = new CopyOnWriteArrayList<>();

        Ticket(long id, int sequences, Thread thread) {
            this.id = id;
            this.sequences = sequences;
            this.thread = thread;
        }
    }

    private final int maxSequences;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Ticket> active = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private int inFlight;
    private volatile boolean draining;

    Admission(int maxSequences) {
        this.maxSequences = maxSequences;
    }

    /** Refuses new work from now on: requests get 503. */
    void startDraining() {
        draining = true;
    }

    boolean draining() {
        return draining;
    }

    /** Throws 503 when draining, so cheap requests can fail before any parsing. */
    void checkOpen() {
        if (draining) throw ApiException.unavailable("the server is shutting down; retry against another instance");
    }

    Ticket admit(int sequences) {
        if (sequences > maxSequences) {
            // Not "busy now": this request could never be admitted, so a retry would be refused forever.
            throw ApiException.badRequest("n", "this request needs " + sequences + " sequences (n x prompts) but the server "
                    + "admits at most " + maxSequences + " at once; lower n or send fewer prompts per request");
        }
        synchronized (lock) {
            checkOpen();
            if (inFlight + sequences > maxSequences) {
                throw ApiException.tooManyRequests("too many requests in flight (" + inFlight + " sequences, limit "
                        + maxSequences + "); retry later");
            }
            inFlight += sequences;
        }
        Ticket t = new Ticket(ids.incrementAndGet(), sequences, Thread.currentThread());
        active.put(t.id, t);
        return t;
    }

    void release(Ticket t) {
        if (active.remove(t.id) == null) return;
        synchronized (lock) {
            inFlight -= t.sequences;
            if (inFlight == 0) lock.notifyAll();
        }
    }

    int inFlightSequences() {
        synchronized (lock) {
            return inFlight;
        }
    }

    /** Waits until no request is in flight or {@code timeout} passes; returns whether it became idle. */
    boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                lock.wait(Math.max(1, left / 1_000_000), 0);
            }
            return true;
        }
    }

    /** Cancels every in-flight engine request; the serving threads then see their streams end. */
    void cancelAll(GenerationEngine engine) {
        for (Ticket t : active.values()) {
            for (String id : t.engineRequestIds) engine.cancel(id);
        }
    }

    /** Interrupts serving threads still blocked after a cancel (an engine that never ends a cancelled stream). */
    void interruptAll() {
        for (Ticket t : active.values()) t.thread.interrupt();
    }
}
