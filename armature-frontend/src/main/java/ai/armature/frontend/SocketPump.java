package ai.armature.frontend;

import io.helidon.common.buffers.DataReader;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Reads a connection's socket ahead of Helidon, on its own virtual thread, and hands the bytes over in order: so
 * the end of the client's stream is noticed the moment it comes (a request still computing its response is then
 * cancelled, see {@link GuardedSocket#onGone}), whatever the connection's thread is doing, and every arrival is
 * timestamped for the body timeout. At most {@link #QUEUED_CHUNKS} reads wait to be consumed: a client that sends
 * faster than it is served is held back by TCP, as before. An HTTP/1.0 connection's request head passes through
 * {@link Http10Translation} on the way.
 */
final class SocketPump implements Supplier<byte[]> {

    static final int QUEUED_CHUNKS = 16;
    private static final byte[] END = new byte[0];

    private final DataReader socket;
    private final GuardedSocket guarded;
    private final LongSupplier clock;
    private final Http10Translation http10;
    private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
    /** One permit per chunk that may wait in the queue: the pump blocks (and TCP pushes back) when none is left. */
    private final Semaphore room = new Semaphore(QUEUED_CHUNKS);
    private volatile boolean ended;

    /** @param socket the connection's reader (it may hold bytes already read to identify the protocol) */
    SocketPump(DataReader socket, GuardedSocket guarded, LongSupplier clock, Http10Translation http10) {
        this.socket = socket;
        this.guarded = guarded;
        this.clock = clock;
        this.http10 = http10;
    }

    void start() {
        Thread.ofVirtual().name("armature-socket-" + guarded.id).start(this::run);
    }

    private void run() {
        try {
            while (true) {
                if (socket.available() == 0) socket.pullData();
                byte[] chunk = socket.readBytes(socket.available());
                guarded.bytesArrived(clock.getAsLong());
                if (http10 != null) chunk = http10.request(chunk);
                if (chunk.length > 0) {
                    room.acquire();
                    queue.add(chunk);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // The end of the stream, or the socket failed or was closed: either way the client is gone.
        } finally {
            ended = true;
            guarded.markGone();
            queue.add(END);
        }
    }

    /** The next bytes for Helidon, in order; null at the end of the stream. */
    @Override
    public byte[] get() {
        try {
            byte[] b = queue.take();
            if (b == END) {
                queue.add(END); // every later read sees the end too
                return null;
            }
            room.release();
            return b;
        } catch (InterruptedException e) {
            // Helidon interrupts a connection it closes (idle timeout, shutdown): that is the end for it.
            Thread.currentThread().interrupt();
            return null;
        }
    }

    boolean ended() {
        return ended;
    }
}
