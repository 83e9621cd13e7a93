package ai.armature.engine.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds GGUF bytes by hand, independently of {@link GgufWriter}, so tests can write any (also malformed) file. */
final class GgufBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    GgufBytes raw(byte... b) {
        out.writeBytes(b);
        return this;
    }

    GgufBytes magic() {
        return raw((byte) 'G', (byte) 'G', (byte) 'U', (byte) 'F');
    }

    GgufBytes u8(int v) {
        out.write(v);
        return this;
    }

    GgufBytes u16(int v) {
        return u8(v).u8(v >> 8);
    }

    GgufBytes u32(long v) {
        for (int i = 0; i < 4; i++) out.write((int) (v >> (8 * i)));
        return this;
    }

    GgufBytes u64(long v) {
        for (int i = 0; i < 8; i++) out.write((int) (v >> (8 * i)));
        return this;
    }

    GgufBytes f32(float v) {
        return u32(Float.floatToRawIntBits(v));
    }

    GgufBytes string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).raw(b);
    }

    /** Header of a v2/v3 file: magic, version, tensor count, kv count. */
    GgufBytes header(int version, long tensors, long kvs) {
        return magic().u32(version).u64(tensors).u64(kvs);
    }

    GgufBytes kvString(String key, String value) {
        return string(key).u32(GgufValueType.STRING.id()).string(value);
    }

    GgufBytes kvU32(String key, int value) {
        return string(key).u32(GgufValueType.UINT32.id()).u32(value);
    }

    /** A tensor info: name, dims, ggml type id, offset. */
    GgufBytes tensor(String name, long[] dims, int type, long offset) {
        string(name).u32(dims.length);
        for (long d : dims) u64(d);
        return u32(type).u64(offset);
    }

    GgufBytes padTo(int alignment) {
        while (out.size() % alignment != 0) out.write(0);
        return this;
    }

    int size() {
        return out.size();
    }

    byte[] toArray() {
        return out.toByteArray();
    }
}
