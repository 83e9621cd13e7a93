package ai.armature.frontend;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataWriter;
import io.helidon.webserver.ConnectionContext;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * HTTP/1.0 on the wire, HTTP/1.1 inside: Helidon speaks only 1.1, so an HTTP/1.0 connection's request head is
 * presented to it as 1.1 with {@code Connection: close} (and a {@code Host} when the client sent none, which 1.0
 * allows), and the response it writes is turned back into what a 1.0 client understands: no chunked coding (RFC
 * 9112 forbids it towards 1.0 clients), the body delimited by closing the connection, which happens after the one
 * response. The status line stays {@code HTTP/1.1}, as a 1.1 server answers a 1.0 request (RFC 9110, 2.5).
 */
final class Http10Translation {

    /** A request head longer than this is passed on untouched, for Helidon to refuse as too large. */
    static final int MAX_HEAD = 64 * 1024;

    private final String host;
    private ByteArrayOutputStream head = new ByteArrayOutputStream();

    Http10Translation(ConnectionContext ctx) {
        this.host = ctx.localPeer().host() + ":" + ctx.localPeer().port();
    }

    /** Rewrites the first request head as it arrives; everything after it passes unchanged. */
    byte[] request(byte[] chunk) {
        if (head == null) return chunk;
        head.writeBytes(chunk);
        byte[] b = head.toByteArray();
        int end = endOfHead(b);
        if (end < 0) {
            if (b.length <= MAX_HEAD) return new byte[0];
            head = null;
            return b;
        }
        head = null;
        byte[] rewritten = rewrite(new String(b, 0, end, StandardCharsets.ISO_8859_1));
        byte[] out = new byte[rewritten.length + b.length - end];
        System.arraycopy(rewritten, 0, out, 0, rewritten.length);
        System.arraycopy(b, end, out, rewritten.length, b.length - end);
        return out;
    }

    /** The index just after the blank line that ends the head, or -1. */
    private static int endOfHead(byte[] b) {
        for (int i = 0; i + 1 < b.length; i++) {
            if (b[i] == '\n' && b[i + 1] == '\n') return i + 2;
            if (b[i] == '\n' && b[i + 1] == '\r' && i + 2 < b.length && b[i + 2] == '\n') return i + 3;
        }
        return -1;
    }

    private byte[] rewrite(String head) {
        String[] lines = head.split("\r?\n");
        StringBuilder sb = new StringBuilder(head.length() + 64);
        String requestLine = lines[0];
        sb.append(requestLine, 0, requestLine.length() - "HTTP/1.0".length()).append("HTTP/1.1\r\n");
        boolean hasHost = false;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) continue;
            String name = line.contains(":") ? line.substring(0, line.indexOf(':')).trim() : line;
            if (name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive")) continue;
            if (name.equalsIgnoreCase("host")) hasHost = true;
            sb.append(line).append("\r\n");
        }
        if (!hasHost) sb.append("Host: ").append(host).append("\r\n");
        sb.append("Connection: close\r\n\r\n");
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A writer that turns Helidon's (possibly chunked) HTTP/1.1 response into a close-delimited one. */
    static DataWriter responseWriter(DataWriter out) {
        return new Dechunking(out);
    }

    /** Strips {@code Transfer-Encoding: chunked} from the response head and the chunk framing from its body. */
    static final class Dechunking implements DataWriter {

        private enum Part { HEAD, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, PLAIN, DONE }

        private final DataWriter out;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private Part part = Part.HEAD;
        private long chunkLeft;

        Dechunking(DataWriter out) {
            this.out = out;
        }

        @Override
        public void write(BufferData... buffers) {
            for (BufferData b : buffers) write(b);
        }

        @Override
        public void write(BufferData buffer) {
            byte[] b = translate(buffer);
            if (b.length > 0) out.write(BufferData.create(b));
        }

        @Override
        public void writeNow(BufferData... buffers) {
            for (BufferData b : buffers) writeNow(b);
        }

        @Override
        public void writeNow(BufferData buffer) {
            byte[] b = translate(buffer);
            if (b.length > 0) out.writeNow(BufferData.create(b));
        }

        @Override
        public void flush() {
            out.flush();
        }

        @Override
        public void close() {
            out.close();
        }

        private byte[] translate(BufferData buffer) {
            byte[] in = new byte[buffer.available()];
            buffer.read(in);
            return translate(in);
        }

        /** Feeds response bytes through the state machine; returns what goes on the wire. */
        synchronized byte[] translate(byte[] in) {
            ByteArrayOutputStream wire = new ByteArrayOutputStream(in.length);
            int i = 0;
            while (i < in.length) {
                switch (part) {
                    case PLAIN -> {
                        wire.write(in, i, in.length - i);
                        i = in.length;
                    }
                    case DONE -> i = in.length;
                    case CHUNK_DATA -> {
                        int n = (int) Math.min(chunkLeft, in.length - i);
                        wire.write(in, i, n);
                        i += n;
                        chunkLeft -= n;
                        if (chunkLeft == 0) part = Part.CHUNK_END;
                    }
                    default -> {
                        // Line-based parts: collect up to the end of the line.
                        byte c = in[i++];
                        pending.write(c);
                        if (c == '\n') line(wire, pending.toString(StandardCharsets.ISO_8859_1));
                    }
                }
            }
            return wire.toByteArray();
        }

        private boolean chunked;
        private final StringBuilder head = new StringBuilder();

        private void line(ByteArrayOutputStream wire, String line) {
            pending.reset();
            String bare = line.strip();
            switch (part) {
                case HEAD -> {
                    if (!bare.isEmpty()) {
                        if (bare.regionMatches(true, 0, "transfer-encoding:", 0, 18)
                                && bare.substring(18).trim().equalsIgnoreCase("chunked")) {
                            chunked = true;
                        } else {
                            head.append(line);
                        }
                        return;
                    }
                    head.append(line);
                    wire.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
                    head.setLength(0);
                    part = chunked ? Part.CHUNK_SIZE : Part.PLAIN;
                }
                case CHUNK_SIZE -> {
                    int semi = bare.indexOf(';');
                    chunkLeft = Long.parseLong(semi < 0 ? bare : bare.substring(0, semi), 16);
                    part = chunkLeft == 0 ? Part.TRAILERS : Part.CHUNK_DATA;
                }
                case CHUNK_END -> part = Part.CHUNK_SIZE; // the CRLF after a chunk's data
                case TRAILERS -> {
                    if (bare.isEmpty()) part = Part.DONE;
                }
                default -> throw new IllegalStateException("no line expected in " + part);
            }
        }
    }
}
