package ai.armature.frontend;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A raw TCP client for wire tests: send bytes, read what comes back until the server closes or a hang guard. */
final class RawSocket implements AutoCloseable {

    /** The longest a test waits for something the server must do (a guard against hangs, not a timing check). */
    static final int HANG_GUARD_MILLIS = 30_000;

    final Socket socket;

    RawSocket(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(HANG_GUARD_MILLIS);
    }

    RawSocket send(String s) throws IOException {
        return send(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    RawSocket send(byte[] b) throws IOException {
        socket.getOutputStream().write(b);
        socket.getOutputStream().flush();
        return this;
    }

    /** Everything until the server closes the connection; fails if it keeps it open past the hang guard. */
    String readToEnd() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) out.write(buf, 0, n);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection open; got so far: " + out.toString(StandardCharsets.UTF_8));
        } catch (java.net.SocketException e) {
            // a reset after the response counts as the end too
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Reads until {@code marker} has arrived (the connection may stay open). */
    String readUntil(String marker) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        while (!out.toString(StandardCharsets.ISO_8859_1).contains(marker)) {
            int c = in.read();
            if (c < 0) throw new AssertionError("the connection closed before '" + marker + "'; got: " + out);
            out.write(c);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Whether anything arrives within {@code millis} (false: silence; the connection may be open or closed). */
    boolean answersWithin(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            return socket.getInputStream().read() >= 0;
        } catch (SocketTimeoutException e) {
            return false;
        } finally {
            socket.setSoTimeout(HANG_GUARD_MILLIS);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
