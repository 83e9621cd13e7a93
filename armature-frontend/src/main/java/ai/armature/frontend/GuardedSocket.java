package ai.armature.frontend;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One accepted socket as the {@link ConnectionGuard} sees it: where its current request is (head, body, being
 * handled), the deadline that applies, when a byte last arrived, and who wants to hear when the client is gone (a
 * request computing its response cancels itself). Thread-safe: the pump, Helidon's connection thread, request
 * handlers and the sweep all touch it.
 */
final class GuardedSocket {

    /** Where the connection's current request is. */
    enum State {
        /** Accepted, or a request started: the head must be complete by the deadline. */
        HEAD,
        /** The head is read and a body follows: it may not pause longer than the header timeout. */
        BODY,
        /** The request is being handled (or the connection waits for the next one: Helidon's idle timeout). */
        HANDLING,
        /** Not ours to time (HTTP/2). */
        EXEMPT
    }

    final String id;
    private final SocketChannel channel;
    private final long timeoutNanos;
    private final List<Runnable> onGone = new CopyOnWriteArrayList<>();
    private volatile State state = State.HEAD;
    private volatile long headDeadline;
    private volatile long lastByteNanos;
    private volatile boolean gone;

    GuardedSocket(String id, SocketChannel channel, long nowNanos, long timeoutNanos) {
        this.id = id;
        this.channel = channel;
        this.timeoutNanos = timeoutNanos;
        this.headDeadline = nowNanos + timeoutNanos;
        this.lastByteNanos = nowNanos;
    }

    State state() {
        return state;
    }

    void exempt() {
        state = State.EXEMPT;
    }

    /** A request line was read: its head must follow within the timeout (the first one counts from accept). */
    void requestStarted(long nowNanos) {
        if (state == State.HANDLING) {
            headDeadline = nowNanos + timeoutNanos;
            state = State.HEAD;
        }
    }

    void headRead(boolean bodyFollows) {
        state = bodyFollows ? State.BODY : State.HANDLING;
    }

    /** The handler has read the whole body. */
    void bodyRead() {
        if (state == State.BODY) state = State.HANDLING;
    }

    void bytesArrived(long nowNanos) {
        lastByteNanos = nowNanos;
    }

    /** Why the socket should be closed now, or null. */
    String expired(long nowNanos) {
        return switch (state) {
            case HEAD -> nowNanos - headDeadline >= 0 ? "header_timeout" : null;
            case BODY -> nowNanos - lastByteNanos >= timeoutNanos ? "body_timeout" : null;
            case HANDLING, EXEMPT -> null;
        };
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    /** Whether the client has hung up (the pump saw the end of its stream, or the socket failed). */
    boolean gone() {
        return gone;
    }

    /** Runs {@code r} once the client is gone (at once if it already is); returns a handle that unregisters it. */
    Runnable onGone(Runnable r) {
        onGone.add(r);
        if (gone && onGone.remove(r)) r.run();
        return () -> onGone.remove(r);
    }

    /** The client hung up: tell whoever waits on it. */
    void markGone() {
        if (gone) return;
        gone = true;
        for (Runnable r : onGone) {
            if (onGone.remove(r)) r.run();
        }
    }

    /** Closes the socket (Helidon's reads and writes on it then fail, and it ends the connection). */
    void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already closing
        }
        markGone();
    }
}
