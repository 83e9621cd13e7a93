package ai.armature.engine.tensor;

import java.util.Random;

/**
 * Obviously-correct scalar code for the tests: dequantization of every supported layout written straight from
 * ggml's block definitions, random valid blocks, and double-precision products.
 */
final class Reference {
    private Reference() {
    }

    static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    static float f16(byte[] b, int i) {
        return Float.float16ToFloat((short) (u8(b, i) | (u8(b, i + 1) << 8)));
    }

    /** Row {@code row} of a {@code rows x cols} matrix of {@code type} stored in {@code data}, as floats. */
    static float[] dequantizeRow(GgmlType type, byte[] data, int row, int cols) {
        int rowBytes = (int) type.bytesFor(cols);
        int base = row * rowBytes;
        float[] out = new float[cols];
        switch (type) {
            case F32 -> {
                for (int k = 0; k < cols; k++) {
                    int p = base + 4 * k;
                    out[k] = Float.intBitsToFloat(u8(data, p) | u8(data, p + 1) << 8 | u8(data, p + 2) << 16 | u8(data, p + 3) << 24);
                }
            }
            case F16 -> {
                for (int k = 0; k < cols; k++) {
                    out[k] = f16(data, base + 2 * k);
                }
            }
            case BF16 -> {
                for (int k = 0; k < cols; k++) {
                    out[k] = Float.intBitsToFloat((u8(data, base + 2 * k) | u8(data, base + 2 * k + 1) << 8) << 16);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    int o = base + 34 * b;
                    float d = f16(data, o);
                    for (int j = 0; j < 32; j++) {
                        out[32 * b + j] = data[o + 2 + j] * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    int o = base + 18 * b;
                    float d = f16(data, o);
                    for (int j = 0; j < 16; j++) {
                        out[32 * b + j] = ((u8(data, o + 2 + j) & 0x0F) - 8) * d;
                        out[32 * b + 16 + j] = ((u8(data, o + 2 + j) >> 4) - 8) * d;
                    }
                }
            }
            case Q4_K -> {
                for (int b = 0; b < cols / 256; b++) {
                    int o = base + 144 * b;
                    float d = f16(data, o);
                    float dmin = f16(data, o + 2);
                    int sc = o + 4;
                    int qs = o + 16;
                    for (int sub = 0; sub < 8; sub++) {
                        int scale = kScale(data, sc, sub);
                        int min = kMin(data, sc, sub);
                        for (int l = 0; l < 32; l++) {
                            int byteIndex = qs + 32 * (sub / 2) + l;
                            int q = sub % 2 == 0 ? u8(data, byteIndex) & 0x0F : u8(data, byteIndex) >> 4;
                            out[256 * b + 32 * sub + l] = d * scale * q - dmin * min;
                        }
                    }
                }
            }
            case Q5_K -> {
                // ggml's dequantize_row_q5_K: the Q4_K header and nibbles, plus a fifth bit per element from qh.
                for (int b = 0; b < cols / 256; b++) {
                    int o = base + 176 * b;
                    float d = f16(data, o);
                    float dmin = f16(data, o + 2);
                    int sc = o + 4;
                    int qh = o + 16;
                    int qs = o + 48;
                    for (int sub = 0; sub < 8; sub++) {
                        int scale = kScale(data, sc, sub);
                        int min = kMin(data, sc, sub);
                        for (int l = 0; l < 32; l++) {
                            int byteIndex = qs + 32 * (sub / 2) + l;
                            int low = sub % 2 == 0 ? u8(data, byteIndex) & 0x0F : u8(data, byteIndex) >> 4;
                            int high = (u8(data, qh + l) >> sub) & 1;
                            int q = low + 16 * high;
                            out[256 * b + 32 * sub + l] = d * scale * q - dmin * min;
                        }
                    }
                }
            }
            case Q6_K -> {
                for (int b = 0; b < cols / 256; b++) {
                    int o = base + 210 * b;
                    float d = f16(data, o + 208);
                    for (int e = 0; e < 256; e++) {
                        int half = e / 128;
                        int inHalf = e % 128;
                        int quarter = inHalf / 32;
                        int l = inHalf % 32;
                        int ql = u8(data, o + 64 * half + l + (quarter % 2 == 1 ? 32 : 0));
                        int low = quarter < 2 ? ql & 0x0F : ql >> 4;
                        int high = (u8(data, o + 128 + 32 * half + l) >> (2 * quarter)) & 3;
                        int q = (low | (high << 4)) - 32;
                        int scale = data[o + 192 + 8 * half + l / 16 + 2 * quarter];
                        out[256 * b + e] = d * scale * q;
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return out;
    }

    /** 6-bit scale of sub-block {@code sub} from the 12 packed bytes at {@code sc} (ggml's get_scale_min_k4). */
    private static int kScale(byte[] data, int sc, int sub) {
        return sub < 4 ? u8(data, sc + sub) & 63 : (u8(data, sc + sub + 4) & 0x0F) | ((u8(data, sc + sub - 4) >> 6) << 4);
    }

    /** 6-bit min of sub-block {@code sub}, as {@link #kScale}. */
    private static int kMin(byte[] data, int sc, int sub) {
        return sub < 4 ? u8(data, sc + sub + 4) & 63 : (u8(data, sc + sub + 4) >> 4) | ((u8(data, sc + sub) >> 6) << 4);
    }

    /** Random valid bytes for a {@code rows x cols} matrix: random floats or random scales and quants. */
    static byte[] randomMatrix(GgmlType type, int rows, int cols, Random rnd) {
        byte[] data = new byte[Math.toIntExact(type.bytesFor(cols) * rows)];
        switch (type) {
            case F32 -> {
                float[] v = randomFloats(rows * cols, rnd);
                data = Quantizer.toF32(v, 0, v.length);
            }
            case F16 -> {
                float[] v = randomFloats(rows * cols, rnd);
                data = Quantizer.toF16(v, 0, v.length);
            }
            case BF16 -> {
                float[] v = randomFloats(rows * cols, rnd);
                data = Quantizer.toBF16(v, 0, v.length);
            }
            default -> {
                rnd.nextBytes(data); // every quant, scale byte and nibble pattern is valid; fix up the f16 scales
                int blockBytes = type.blockBytes();
                for (int o = 0; o < data.length; o += blockBytes) {
                    switch (type) {
                        case Q8_0, Q4_0 -> putF16(data, o, (rnd.nextFloat() - 0.5f) * 0.02f);
                        case Q4_K, Q5_K -> {
                            putF16(data, o, rnd.nextFloat() * 0.002f);
                            putF16(data, o + 2, rnd.nextFloat() * 0.002f);
                        }
                        case Q6_K -> putF16(data, o + 208, (rnd.nextFloat() - 0.5f) * 0.002f);
                        default -> throw new IllegalArgumentException(type.toString());
                    }
                }
            }
        }
        return data;
    }

    static float[] randomFloats(int n, Random rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    static void putF16(byte[] data, int o, float v) {
        short h = Float.floatToFloat16(v);
        data[o] = (byte) h;
        data[o + 1] = (byte) (h >> 8);
    }

    /**
     * {@code x[off .. off + n)} quantized as ggml's quantize_row_q8_0 does for its integer kernels, and back: per block
     * of 32, {@code d = amax / 127} and {@code q = round(x / d)} with halves away from zero; returns {@code q * d}.
     */
    static double[] int8RoundTrip(float[] x, int off, int n) {
        double[] out = new double[n];
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[off + 32 * b + j]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            for (int j = 0; j < 32; j++) {
                float v = x[off + 32 * b + j] * id;
                int q = (int) (v + Math.copySign(0.5f, v));
                out[32 * b + j] = (double) q * d;
            }
        }
        return out;
    }

    /** {@code sum(w[i] * x[i])} in double. */
    static double dot(float[] w, double[] x) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += w[i] * x[i];
        }
        return s;
    }

    /** {@code sum(|w[i] * x[i]|)}. */
    static double absDot(float[] w, double[] x) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += Math.abs(w[i] * x[i]);
        }
        return s;
    }

    /** {@code sum(w[i] * x[xOff + i])} in double. */
    static double dot(float[] w, float[] x, int xOff) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += (double) w[i] * x[xOff + i];
        }
        return s;
    }

    /** {@code sum(|w[i] * x[xOff + i]|)}, the scale of the rounding error of a float dot product. */
    static double absDot(float[] w, float[] x, int xOff) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += Math.abs((double) w[i] * x[xOff + i]);
        }
        return s;
    }
}
