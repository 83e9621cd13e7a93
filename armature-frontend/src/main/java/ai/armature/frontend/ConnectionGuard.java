package ai.armature.frontend;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.socket.SocketOptions;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ProtocolConfigs;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionProvider;
import io.helidon.webserver.http2.Http2Config;
import io.helidon.webserver.http2.Http2ConnectionProvider;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The connection layer under Helidon's HTTP handling, where transport concerns belong. Helidon 4.5 offers a
 * connection limit ({@code maxTcpConnections}) and an idle timeout between requests, both used; it does not time
 * out a client that connects and sends nothing or a request head or body that trickles in (its sockets have no read
 * timeout), does not notice a client that disconnects while a non-streaming response is being computed (nobody
 * reads the socket then), does not speak HTTP/1.0 at all (it closes such connections without a word) and closes
 * connections that send garbage just as silently (or logs a stack trace when they hang up). This selector comes
 * first in the listener's list and takes every connection:
 * <ul>
 *   <li>HTTP/1.1 goes to Helidon's own HTTP/1 connection, reading from a {@link SocketPump} that reads ahead (so
 *       the end of the stream is seen at once, and the request in progress can be cancelled) and timestamps what
 *       arrives;</li>
 *   <li>HTTP/1.0 goes there too through {@link Http10Translation}: the request head is presented as HTTP/1.1 with
 *       {@code Connection: close}, and the chunked response Helidon writes goes out close-delimited;</li>
 *   <li>the HTTP/2 preface (prior knowledge) goes to Helidon's HTTP/2 connection unchanged;</li>
 *   <li>anything else gets a 400 with an OpenAI error body, and the connection is closed.</li>
 * </ul>
 * Every accepted socket is registered (through the listener's socket options, the one hook Helidon calls on accept)
 * and a sweep closes those whose request head is not complete {@code headerTimeout} after they connected or after
 * the request started, and those whose request body pauses longer than that.
 */
final class ConnectionGuard implements ServerConnectionSelector {

    private static final System.Logger LOG = System.getLogger(ConnectionGuard.class.getName());
    private static final byte[] HTTP2_PREFACE = "PRI * HTTP/2.0".getBytes(StandardCharsets.US_ASCII);
    /** The longest first line looked at before a connection is called garbage (Helidon's prologue limit is 4 KiB). */
    static final int MAX_FIRST_LINE = 8192;

    private final Map<String, GuardedSocket> sockets = new ConcurrentHashMap<>();
    private final long headerTimeoutNanos;
    private final LongSupplier clock;
    private final FrontendMetrics metrics;
    private final ServerConnectionSelector http1;
    private final ServerConnectionSelector http2;
    private final byte[] garbageResponse;
    private int accepted;

    /**
     * @param clock        nanoTime, for the deadlines ({@link System#nanoTime()} in production)
     * @param errorBody    the OpenAI error body sent to a connection that speaks no HTTP
     */
    ConnectionGuard(Duration headerTimeout, LongSupplier clock, FrontendMetrics metrics, byte[] errorBody) {
        this.headerTimeoutNanos = headerTimeout.toNanos();
        this.clock = clock;
        this.metrics = metrics;
        // The same connections Helidon would make for its default listener (HTTP/1.1 that can upgrade to h2c, and
        // HTTP/2 with prior knowledge), with our listener on HTTP/1 request progress.
        Http1Config http1Config = Http1Config.builder().addReceiveListener(new RequestProgress()).build();
        Http2Config http2Config = Http2Config.create();
        ProtocolConfigs protocols = ProtocolConfigs.create(List.of(http1Config, http2Config));
        this.http1 = new Http1ConnectionProvider().create("@default", http1Config, protocols);
        this.http2 = new Http2ConnectionProvider().create("@default", http2Config, protocols);
        String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                + errorBody.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        this.garbageResponse = new byte[h.length + errorBody.length];
        System.arraycopy(h, 0, garbageResponse, 0, h.length);
        System.arraycopy(errorBody, 0, garbageResponse, h.length, errorBody.length);
    }

    // ---- the accept hook ----

    /** Socket options that register each accepted socket here, otherwise Helidon's defaults. */
    SocketOptions socketOptions() {
        return new RegisteringSocketOptions(SocketOptions.create(), this::accepted);
    }

    private void accepted(SocketChannel channel) {
        String id = "0x" + HexFormat.of().toHexDigits(System.identityHashCode(channel));
        sockets.put(id, new GuardedSocket(id, channel, clock.getAsLong(), headerTimeoutNanos));
        synchronized (sockets) {
            accepted++;
            sockets.notifyAll();
        }
    }

    /** Waits until {@code n} sockets have been accepted since the start (for tests that must know a socket is here). */
    void awaitAccepted(int n) throws InterruptedException {
        synchronized (sockets) {
            while (accepted < n) sockets.wait();
        }
    }

    int accepted() {
        synchronized (sockets) {
            return accepted;
        }
    }

    /** The registered socket of a connection (Helidon's child socket id), or null. */
    GuardedSocket socket(String socketId) {
        return sockets.get(socketId);
    }

    /** Sockets currently registered (open, or closed since the last sweep). */
    int registered() {
        return sockets.size();
    }

    // ---- which protocol ----

    private enum Kind { HTTP11, HTTP10, HTTP2, GARBAGE, UNDECIDED }

    /** What the first bytes of a connection are; UNDECIDED while its first line is incomplete but plausible. */
    static Kind kind(BufferData data) {
        byte[] b = new byte[Math.min(data.available(), MAX_FIRST_LINE)];
        data.read(b);
        int eol = -1;
        for (int i = 0; i < b.length && eol < 0; i++) if (b[i] == '\n') eol = i;
        int end = eol < 0 ? b.length : eol > 0 && b[eol - 1] == '\r' ? eol - 1 : eol;
        for (int i = 0; i < end; i++) {
            int c = b[i] & 0xff;
            if (c < 0x20 || c > 0x7e) return Kind.GARBAGE; // a request line is printable ASCII
        }
        String line = new String(b, 0, end, StandardCharsets.ISO_8859_1);
        if (line.equals("PRI * HTTP/2.0")) return Kind.HTTP2;
        if (eol < 0) return b.length >= MAX_FIRST_LINE ? Kind.GARBAGE : Kind.UNDECIDED;
        if (line.endsWith(" HTTP/1.1")) return Kind.HTTP11;
        if (line.endsWith(" HTTP/1.0")) return Kind.HTTP10;
        return Kind.GARBAGE;
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    /**
     * Every connection is ours: deciding needs the whole first line, and waiting for it here (UNKNOWN) would leave
     * a client that hangs up mid-line to Helidon, which logs that with a stack trace.
     */
    @Override
    public Support supports(BufferData data) {
        return Support.SUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return Set.of("http/1.1", "h2");
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        GuardedSocket socket = sockets.get(ctx.childSocketId());
        io.helidon.common.buffers.DataReader reader = ctx.dataReader();
        Kind kind;
        while ((kind = kind(reader.getBuffer(reader.available()))) == Kind.UNDECIDED) {
            try {
                reader.pullData();
            } catch (RuntimeException e) {
                // The client hung up (or the sweep closed it) before finishing its first line: nothing to answer.
                return new BadRequestConnection(ctx, null);
            }
        }
        return switch (kind) {
            case HTTP2 -> {
                if (socket != null) socket.exempt(); // long-lived and multiplexed: Helidon's HTTP/2 handles its timing
                yield http2.connection(ctx);
            }
            case HTTP11, HTTP10 -> {
                if (socket == null) yield http1.connection(ctx); // not accepted through our options: serve it unguarded
                boolean http10 = kind == Kind.HTTP10;
                SocketPump pump = new SocketPump(reader, socket, clock, http10 ? new Http10Translation(ctx) : null);
                pump.start();
                yield http1.connection(new GuardedContext(ctx, pump,
                        http10 ? Http10Translation.responseWriter(ctx.dataWriter()) : ctx.dataWriter()));
            }
            default -> {
                metrics.connectionRefused("garbage");
                yield new BadRequestConnection(ctx, garbageResponse);
            }
        };
    }

    // ---- deadlines ----

    /**
     * Closes every socket past its deadline (request head not complete within the header timeout, or its body
     * paused longer than that) and forgets closed sockets, as of {@code now} (nanoTime). The sweeper calls it with
     * the clock; tests call it with a later time to see what the deadlines do then.
     */
    void sweep(long now) {
        for (GuardedSocket s : sockets.values()) {
            if (!s.isOpen()) {
                s.markGone(); // closed under us (an HTTP/2 connection, or by Helidon): its requests end
                sockets.remove(s.id, s);
                continue;
            }
            String reason = s.expired(now);
            if (reason != null) {
                LOG.log(System.Logger.Level.DEBUG, () -> "closing connection " + s.id + ": " + reason);
                metrics.connectionRefused(reason);
                s.close();
                sockets.remove(s.id, s);
            }
        }
    }

    /** Sweeps every {@code period} on a daemon thread until {@code running} turns false. */
    Thread startSweeper(Duration period, java.util.function.BooleanSupplier running) {
        return Thread.ofPlatform().daemon().name("armature-connection-sweeper").start(() -> {
            while (running.getAsBoolean()) {
                try {
                    Thread.sleep(period);
                } catch (InterruptedException e) {
                    return;
                }
                sweep(clock.getAsLong());
            }
        });
    }

    /** Marks request heads and bodies as they are read: the deadlines follow them. */
    private final class RequestProgress implements Http1ConnectionListener {
        @Override
        public void prologue(ConnectionContext ctx, io.helidon.http.HttpPrologue prologue) {
            GuardedSocket s = sockets.get(ctx.childSocketId());
            if (s != null) s.requestStarted(clock.getAsLong());
        }

        @Override
        public void headers(ConnectionContext ctx, io.helidon.http.Headers headers) {
            GuardedSocket s = sockets.get(ctx.childSocketId());
            if (s == null) return;
            boolean body = headers.contains(io.helidon.http.HeaderValues.TRANSFER_ENCODING_CHUNKED)
                    || headers.contentLength().orElse(0) > 0;
            s.headRead(body);
        }
    }
}
