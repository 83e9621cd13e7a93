package ai.armature.engine.model;

/** The element type the KV cache stores keys and values in. F16 halves the memory of F32 at no visible quality cost. */
public enum KvDtype {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    KvDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public static KvDtype parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown KV cache type '" + s + "' (use f16, bf16 or f32)");
        }
    }
}
