package ai.armature.serving.runner;

import java.util.Locale;

/** The element type the KV cache stores K and V in: F16 or BF16 (2 bytes), or F32 (4 bytes). */
public enum KvDtype {
    F16(2), BF16(2), F32(4);

    private final int bytes;

    KvDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Parses {@code f16}, {@code bf16} or {@code f32} (any case), with a clear message otherwise. */
    public static KvDtype parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown KV cache dtype '" + name + "': use f16, bf16 or f32");
        }
    }
}
