package ai.armature.router;

import java.util.Set;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.Usage;

/**
 * The stream of a request waiting at the router because every worker it may go to is busy: {@link #next()} blocks
 * until the router sends it to a worker, then reads that worker's stream; if it ends before (cancelled, timed out,
 * the router closed) {@link #next()} returns one final output saying why. Closing it while it waits takes it out of
 * the router's queue. Thread-safe.
 */
final class WaitingStream implements GenerationStream {

    final GenerateRequest request;
    final Set<String> exclude;
    /** Router time (nanoseconds) it started waiting. */
    final long since;
    private final Router router;
    private GenerationStream inner;
    private GenerateOutput end;
    private boolean endTaken;
    private boolean closed;

    WaitingStream(Router router, GenerateRequest request, Set<String> exclude, long since) {
        this.router = router;
        this.request = request;
        this.exclude = exclude;
        this.since = since;
    }

    @Override
    public String requestId() {
        return request.requestId();
    }

    /** Hands over the worker's stream; false (and nothing kept) if the request ended or was closed meanwhile. */
    synchronized boolean dispatched(GenerationStream stream) {
        if (closed || end != null) return false;
        inner = stream;
        notifyAll();
        return true;
    }

    /**
     * Ends the request before it reached a worker; no-op once it has one or has ended. {@code kind} (with
     * {@link FinishReason#ERROR} only) tells the frontend which status to answer: the router's own refusals (wait
     * timeout, shutdown, no worker to take it) are UNAVAILABLE, a 503 the client may retry, not a server error.
     */
    synchronized void end(FinishReason reason, GenerateOutput.ErrorKind kind, String error) {
        if (inner != null || end != null) return;
        end = new GenerateOutput(request.requestId(), new int[0], null, reason, new Usage(request.promptTokens().length, 0, 0), error,
                null, kind);
        notifyAll();
    }

    @Override
    public GenerateOutput next() throws InterruptedException {
        GenerationStream s;
        synchronized (this) {
            while (inner == null && end == null) wait();
            if (inner == null) {
                if (endTaken) return null;
                endTaken = true;
                return end;
            }
            s = inner;
        }
        return s.next();
    }

    @Override
    public void close() {
        GenerationStream s;
        synchronized (this) {
            closed = true;
            s = inner;
            if (s == null && end == null) {
                end = new GenerateOutput(request.requestId(), new int[0], null, FinishReason.CANCELLED, new Usage(request.promptTokens().length, 0, 0), null);
            }
            notifyAll();
        }
        if (s != null) s.close();
        else router.stopWaiting(this);
    }
}
