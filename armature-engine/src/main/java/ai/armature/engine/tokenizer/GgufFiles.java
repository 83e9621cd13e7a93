package ai.armature.engine.tokenizer;

import ai.armature.engine.gguf.GgufArray;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufValue;
import ai.armature.engine.gguf.GgufValueType;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** TEMPORARY: reads only the metadata of a GGUF file until the engine's GGUF reader is merged. */
final class GgufFiles {
    private GgufFiles() {
    }

    static GgufMetadata metadata(Path path) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
            DataInputStream d = new DataInputStream(in);
            if (d.readInt() != 0x47475546) throw new IllegalArgumentException(path + " is not a GGUF file");
            u32(d);
            u64(d);
            long n = u64(d);
            Map<String, GgufValue> m = new LinkedHashMap<>();
            for (long i = 0; i < n; i++) {
                String k = str(d);
                GgufValueType t = GgufValueType.byId(u32(d));
                m.put(k, new GgufValue(t, value(d, t)));
            }
            return new GgufMetadata(m);
        } catch (EOFException e) {
            throw new IllegalArgumentException(path + " is truncated");
        }
    }

    private static Object value(DataInputStream d, GgufValueType t) throws IOException {
        return switch (t) {
            case UINT8, INT8 -> d.readByte();
            case UINT16, INT16 -> Short.reverseBytes(d.readShort());
            case UINT32, INT32 -> Integer.reverseBytes(d.readInt());
            case UINT64, INT64 -> Long.reverseBytes(d.readLong());
            case FLOAT32 -> Float.intBitsToFloat(Integer.reverseBytes(d.readInt()));
            case FLOAT64 -> Double.longBitsToDouble(Long.reverseBytes(d.readLong()));
            case BOOL -> d.readByte() != 0;
            case STRING -> str(d);
            case ARRAY -> {
                GgufValueType et = GgufValueType.byId(u32(d));
                int n = (int) u64(d);
                Object arr = switch (et) {
                    case STRING -> { String[] a = new String[n]; for (int i = 0; i < n; i++) a[i] = str(d); yield a; }
                    case FLOAT32 -> { float[] a = new float[n]; for (int i = 0; i < n; i++) a[i] = Float.intBitsToFloat(Integer.reverseBytes(d.readInt())); yield a; }
                    case INT32, UINT32 -> { int[] a = new int[n]; for (int i = 0; i < n; i++) a[i] = Integer.reverseBytes(d.readInt()); yield a; }
                    default -> { Object[] a = new Object[n]; for (int i = 0; i < n; i++) a[i] = value(d, et); yield a; }
                };
                yield new GgufArray(et, arr);
            }
        };
    }

    private static long u32(DataInputStream d) throws IOException {
        return Integer.toUnsignedLong(Integer.reverseBytes(d.readInt()));
    }

    private static long u64(DataInputStream d) throws IOException {
        return Long.reverseBytes(d.readLong());
    }

    private static String str(DataInputStream d) throws IOException {
        byte[] b = new byte[(int) u64(d)];
        d.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
