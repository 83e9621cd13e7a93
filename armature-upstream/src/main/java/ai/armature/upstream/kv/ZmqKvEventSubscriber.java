package ai.armature.upstream.kv;

import ai.armature.protocol.kv.KvEvent;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Subscribes (JeroMQ SUB socket, all topics) to an engine's ZMQ KV event publisher, as vLLM's and SGLang's
 * {@code ZmqEventPublisher} send them: multipart messages of topic, 8-byte big-endian sequence number and msgpack
 * payload. Each message is decoded, translated into Armature events and handed to the sink on this subscriber's
 * thread, in order. ZMQ reconnects by itself when the engine restarts (and, here, when a connection's handshake stalls:
 * see {@link #HANDSHAKE_TIMEOUT_MS}); a message that cannot be decoded counts as
 * lost (a gap). The engine binds ({@code tcp://*:5557} by default) and Armature connects.
 */
public final class ZmqKvEventSubscriber implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ZmqKvEventSubscriber.class.getName());
    private static final int RECEIVE_TIMEOUT_MS = 200;
    /**
     * How long a connection may take to complete its ZMTP handshake before JeroMQ drops it and reconnects (its
     * default is 30 s). JeroMQ 0.6.0's poller sometimes never registers a freshly connected socket with its selector:
     * when the connecter's cancelled key and the new engine's registration fall in the same poller iteration, the
     * engine gets no I/O events, sends no greeting and reads nothing, and only the handshake timer ends it. On a
     * loaded machine that happened to 21 of 300 first connections (load average 16); reconnects after an engine
     * restart take the same connecter path. Each cost 30 s of lost events. A handshake with a live engine takes
     * milliseconds (libzmq answers it on its own I/O thread, however busy the engine), so a stalled one is retried
     * after 2 s instead.
     */
    static final int HANDSHAKE_TIMEOUT_MS = 2_000;

    private final String endpoint;
    private final KvEventDecoder decoder;
    private final KvEventTranslator translator;
    private final Consumer<List<KvEvent>> sink;
    private final ZContext context = new ZContext();
    private volatile boolean running = true;
    private Thread thread;
    private volatile long received;

    public ZmqKvEventSubscriber(String endpoint, KvEventDecoder decoder, KvEventTranslator translator, Consumer<List<KvEvent>> sink) {
        this.endpoint = endpoint;
        this.decoder = decoder;
        this.translator = translator;
        this.sink = sink;
    }

    public synchronized void start() {
        if (thread != null) throw new IllegalStateException("already started");
        thread = Thread.ofPlatform().daemon(true).name("armature-kv-events-" + endpoint).start(this::run);
    }

    /** Messages received so far (for tests and diagnostics). */
    public long received() {
        return received;
    }

    private void run() {
        // The socket lives on this thread only (ZMQ sockets are not thread-safe).
        ZMQ.Socket socket = context.createSocket(SocketType.SUB);
        socket.setLinger(0);
        socket.setRcvHWM(100_000);
        socket.setReceiveTimeOut(RECEIVE_TIMEOUT_MS);
        socket.setHandshakeIvl(HANDSHAKE_TIMEOUT_MS);
        socket.subscribe(ZMQ.SUBSCRIPTION_ALL);
        socket.connect(endpoint);
        while (running) {
            ZMsg msg;
            try {
                msg = ZMsg.recvMsg(socket);
            } catch (RuntimeException e) {
                if (running) LOG.warning("KV event subscriber on " + endpoint + ": " + e.getMessage());
                break;
            }
            if (msg == null) continue;
            received++;
            try {
                handle(msg);
            } catch (RuntimeException e) {
                LOG.warning("KV event subscriber on " + endpoint + ": delivering events failed: " + e);
            } finally {
                msg.destroy();
            }
        }
        socket.close();
    }

    private void handle(ZMsg msg) {
        // [topic, seq, payload]; a publisher without topic frame would send [seq, payload].
        if (msg.size() < 2) {
            LOG.warning("KV event subscriber on " + endpoint + ": ignoring a message of " + msg.size() + " frame(s)");
            return;
        }
        byte[] payload = msg.removeLast().getData();
        byte[] seqBytes = msg.removeLast().getData();
        if (seqBytes.length != 8) {
            LOG.warning("KV event subscriber on " + endpoint + ": ignoring a message whose sequence frame has " + seqBytes.length + " bytes");
            return;
        }
        long seq = ByteBuffer.wrap(seqBytes).getLong();
        EngineKvBatch batch;
        try {
            batch = decoder.decode(seq, payload);
        } catch (IOException e) {
            translator.lostMessage(seq, e.getMessage());
            return;
        }
        List<KvEvent> events = translator.accept(batch);
        if (!events.isEmpty()) sink.accept(events);
    }

    @Override
    public void close() {
        running = false;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        context.close();
    }
}
