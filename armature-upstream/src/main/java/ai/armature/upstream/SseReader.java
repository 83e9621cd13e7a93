package ai.armature.upstream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads the {@code data:} payloads of a server-sent event stream, one event at a time (multi-line data joined by
 * '\n', comments and other fields skipped). Not thread-safe; closing the stream from another thread makes a
 * blocked {@link #next()} throw.
 */
final class SseReader {

    private final InputStream in;
    private final byte[] buf = new byte[8192];
    private int pos, limit;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);

    SseReader(InputStream in) {
        this.in = in;
    }

    /** The next event's data, or null at the end of the stream. */
    String next() throws IOException {
        StringBuilder data = null;
        while (true) {
            String l = readLine();
            if (l == null) return data == null ? null : data.toString();
            if (l.isEmpty()) {
                if (data != null) return data.toString();
                continue;
            }
            if (l.startsWith("data:")) {
                String v = l.substring(5);
                if (v.startsWith(" ")) v = v.substring(1);
                if (data == null) data = new StringBuilder(v);
                else data.append('\n').append(v);
            }
        }
    }

    private String readLine() throws IOException {
        line.reset();
        while (true) {
            if (pos == limit) {
                limit = in.read(buf, 0, buf.length);
                pos = 0;
                if (limit <= 0) {
                    limit = 0;
                    return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
                }
            }
            byte b = buf[pos++];
            if (b == '\n') {
                int n = line.size();
                String s = line.toString(StandardCharsets.UTF_8);
                return n > 0 && s.charAt(s.length() - 1) == '\r' ? s.substring(0, s.length() - 1) : s;
            }
            line.write(b);
        }
    }
}
