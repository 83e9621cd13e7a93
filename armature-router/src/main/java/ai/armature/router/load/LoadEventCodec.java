package ai.armature.router.load;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The wire form of {@link LoadEvent}s between router replicas in different processes (the runtime's event plane
 * carries the bytes): a format version, the event's kind, then its fields, big-endian, strings as modified UTF-8.
 * A message of an unknown version or kind, or a truncated one, is refused with {@link IllegalArgumentException}.
 */
public final class LoadEventCodec {

    private static final byte VERSION = 1;
    private static final byte ROUTED = 1, FIRST_TOKEN = 2, FINISHED = 3, HEARTBEAT = 4, LEFT = 5;

    private LoadEventCodec() {
    }

    public static byte[] encode(LoadEvent e) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            switch (e) {
                case LoadEvent.Routed r -> {
                    out.writeByte(ROUTED);
                    out.writeUTF(r.routerId());
                    out.writeUTF(r.requestId());
                    out.writeUTF(r.workerId());
                    out.writeInt(r.promptTokens());
                    out.writeInt(r.cachedTokens());
                    out.writeInt(r.approxBlockHashes().length);
                    for (long h : r.approxBlockHashes()) out.writeLong(h);
                }
                case LoadEvent.FirstToken f -> {
                    out.writeByte(FIRST_TOKEN);
                    out.writeUTF(f.routerId());
                    out.writeUTF(f.requestId());
                }
                case LoadEvent.Finished f -> {
                    out.writeByte(FINISHED);
                    out.writeUTF(f.routerId());
                    out.writeUTF(f.requestId());
                }
                case LoadEvent.Heartbeat h -> {
                    out.writeByte(HEARTBEAT);
                    out.writeUTF(h.routerId());
                }
                case LoadEvent.Left l -> {
                    out.writeByte(LEFT);
                    out.writeUTF(l.routerId());
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex); // a ByteArrayOutputStream does not fail
        }
        return bytes.toByteArray();
    }

    public static LoadEvent decode(byte[] message) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(message))) {
            byte version = in.readByte();
            if (version != VERSION) throw new IllegalArgumentException("router load event of unknown version " + version);
            byte kind = in.readByte();
            return switch (kind) {
                case ROUTED -> {
                    String router = in.readUTF(), request = in.readUTF(), worker = in.readUTF();
                    int prompt = in.readInt(), cached = in.readInt(), n = in.readInt();
                    if (n < 0 || n > message.length / 8) throw new IllegalArgumentException("router load event with " + n + " block hashes");
                    long[] hashes = new long[n];
                    for (int i = 0; i < n; i++) hashes[i] = in.readLong();
                    yield new LoadEvent.Routed(router, request, worker, prompt, cached, hashes);
                }
                case FIRST_TOKEN -> new LoadEvent.FirstToken(in.readUTF(), in.readUTF());
                case FINISHED -> new LoadEvent.Finished(in.readUTF(), in.readUTF());
                case HEARTBEAT -> new LoadEvent.Heartbeat(in.readUTF());
                case LEFT -> new LoadEvent.Left(in.readUTF());
                default -> throw new IllegalArgumentException("router load event of unknown kind " + kind);
            };
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated router load event: " + e);
        }
    }
}
