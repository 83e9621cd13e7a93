package ai.armature.engine.tensor;

/**
 * Converts floats into ggml's stored layouts (little-endian bytes, ready for {@link WeightMatrix#of} via
 * {@code MemorySegment.ofArray}), rounding exactly as ggml's reference quantizers do so that files and tests agree
 * bit for bit: Q8_0 uses {@code d = amax / 127, q = round(x / d)} (half away from zero); Q4_0 uses the element of
 * largest magnitude with its sign, {@code d = max / -8, q = min(15, (int) (x / d + 8.5))}.
 */
public final class Quantizer {
    private Quantizer() {
    }

    /** Quantizes {@code x[off .. off + n)} (n a multiple of 32) to Q8_0 blocks. */
    public static byte[] toQ8_0(float[] x, int off, int n) {
        checkBlocks(n, 32, "Q8_0");
        byte[] out = new byte[n / 32 * 34];
        for (int b = 0, o = 0; b < n / 32; b++, o += 34) {
            int base = off + b * 32;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            putShort(out, o, Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                out[o + 2 + j] = (byte) roundHalfAway(x[base + j] * id);
            }
        }
        return out;
    }

    /** Quantizes {@code x[off .. off + n)} (n a multiple of 32) to Q4_0 blocks. */
    public static byte[] toQ4_0(float[] x, int off, int n) {
        checkBlocks(n, 32, "Q4_0");
        byte[] out = new byte[n / 32 * 18];
        for (int b = 0, o = 0; b < n / 32; b++, o += 18) {
            int base = off + b * 32;
            float amax = 0;
            float max = 0;
            for (int j = 0; j < 32; j++) {
                float v = x[base + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0 ? 1f / d : 0f;
            putShort(out, o, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (int) (x[base + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (x[base + 16 + j] * id + 8.5f));
                out[o + 2 + j] = (byte) (q0 | (q1 << 4));
            }
        }
        return out;
    }

    /** IEEE half-precision bytes of {@code x[off .. off + n)} (round to nearest even). */
    public static byte[] toF16(float[] x, int off, int n) {
        byte[] out = new byte[2 * n];
        for (int i = 0; i < n; i++) {
            putShort(out, 2 * i, Float.floatToFloat16(x[off + i]));
        }
        return out;
    }

    /** BF16 bytes of {@code x[off .. off + n)}: the top half of each float, rounded to nearest even as ggml does. */
    public static byte[] toBF16(float[] x, int off, int n) {
        byte[] out = new byte[2 * n];
        for (int i = 0; i < n; i++) {
            putShort(out, 2 * i, floatToBF16(x[off + i]));
        }
        return out;
    }

    /** Little-endian F32 bytes of {@code x[off .. off + n)}. */
    public static byte[] toF32(float[] x, int off, int n) {
        byte[] out = new byte[4 * n];
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits(x[off + i]);
            putShort(out, 4 * i, (short) bits);
            putShort(out, 4 * i + 2, (short) (bits >>> 16));
        }
        return out;
    }

    /** One float as BF16 bits: round to nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBF16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7FFF + ((u >>> 16) & 1))) >>> 16);
    }

    /** BF16 bits as a float (exact). */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat(h << 16);
    }

    /** C's roundf: to nearest, halves away from zero (Math.round sends -2.5 to -2; ggml gets -3). */
    static int roundHalfAway(float v) {
        float a = Math.abs(v);
        int r = (int) a;
        if (a - r >= 0.5f) {
            r++;
        }
        return v < 0 ? -r : r;
    }

    private static void checkBlocks(int n, int block, String type) {
        if (n < 0 || n % block != 0) {
            throw new IllegalArgumentException(type + " quantizes whole blocks of " + block + " elements; got " + n);
        }
    }

    private static void putShort(byte[] out, int o, short v) {
        out[o] = (byte) v;
        out[o + 1] = (byte) (v >>> 8);
    }
}
