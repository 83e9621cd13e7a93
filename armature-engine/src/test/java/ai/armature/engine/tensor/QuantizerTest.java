package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantizerTest {

    /**
     * Q8_0: q = round(x / d) with d = amax / 127, so before storing d as f16 the error is at most d/2. Storing d as
     * f16 (relative error <= 2^-11) moves each value by at most |q| * |d - d16| <= 127 * |d - d16|.
     */
    @Test
    void q8_0RoundTripIsWithinHalfAStep() {
        Random rnd = new Random(1);
        int n = 32 * 40;
        float[] x = Reference.randomFloats(n, rnd);
        for (int i = 0; i < 32; i++) {
            x[i] = 0f; // an all-zero block must give d = 0 and zeros, not NaN
        }
        x[40] = 1e-3f; // a block with tiny values
        byte[] q = Quantizer.toQ8_0(x, 0, n);
        assertThat(q).hasSize(n / 32 * 34);
        float[] back = Reference.dequantizeRow(GgmlType.Q8_0, q, 0, n);
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[32 * b + j]));
            }
            float d = amax / 127f;
            float d16 = Reference.f16(q, 34 * b);
            double bound = d / 2 + 127 * Math.abs(d - d16) + 1e-7;
            for (int j = 0; j < 32; j++) {
                assertThat((double) Math.abs(back[32 * b + j] - x[32 * b + j])).as("block %d elem %d", b, j).isLessThanOrEqualTo(bound);
            }
        }
        // The kernel reads what the quantizer writes.
        float[] out = new float[n];
        WeightMatrix.of(GgmlType.Q8_0, MemorySegment.ofArray(q), 1, n).dequantizeRow(0, out, 0);
        assertThat(out).containsExactly(back);
    }

    /**
     * Q4_0: 16 levels of step d = max / -8 spanning [-8d, 7d], the signed max mapping to level -8 exactly. Values
     * within the grid are off by at most d/2; values of the opposite sign beyond 7.5d (up to 8d, when
     * |x| is close to |max|) are clamped to level 7, off by at most d. Storing d as f16 adds up to 8 * |d - d16|.
     */
    @Test
    void q4_0RoundTripIsWithinHalfAStep() {
        Random rnd = new Random(2);
        int n = 32 * 40;
        float[] x = Reference.randomFloats(n, rnd);
        byte[] q = Quantizer.toQ4_0(x, 0, n);
        assertThat(q).hasSize(n / 32 * 18);
        float[] back = Reference.dequantizeRow(GgmlType.Q4_0, q, 0, n);
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            float max = 0;
            for (int j = 0; j < 32; j++) {
                if (Math.abs(x[32 * b + j]) > amax) {
                    amax = Math.abs(x[32 * b + j]);
                    max = x[32 * b + j];
                }
            }
            float d = Math.abs(max / -8f);
            float d16 = Math.abs(Reference.f16(q, 18 * b));
            for (int j = 0; j < 32; j++) {
                boolean clamped = x[32 * b + j] / (max / -8f) > 7.5f;
                double bound = (clamped ? d : d / 2) + 8 * Math.abs(d - d16) + 1e-6;
                assertThat((double) Math.abs(back[32 * b + j] - x[32 * b + j])).as("block %d elem %d", b, j).isLessThanOrEqualTo(bound);
            }
        }
    }

    @Test
    void roundingFollowsGgml() {
        // roundf: halves away from zero.
        assertThat(Quantizer.roundHalfAway(2.5f)).isEqualTo(3);
        assertThat(Quantizer.roundHalfAway(-2.5f)).isEqualTo(-3);
        assertThat(Quantizer.roundHalfAway(-2.49f)).isEqualTo(-2);
        assertThat(Quantizer.roundHalfAway(0.49999997f)).isEqualTo(0);
        // A block holding -8..7 exactly: d = -8 / -8 = 1 and every value is representable.
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = (j % 16) - 8;
        }
        x[31] = -8; // signed max is negative: d = +1, q = x + 8
        byte[] q = Quantizer.toQ4_0(x, 0, 32);
        assertThat(Reference.f16(q, 0)).isEqualTo(1f);
        assertThat(Reference.dequantizeRow(GgmlType.Q4_0, q, 0, 32)).containsExactly(x);
        assertThatThrownBy(() -> Quantizer.toQ8_0(new float[33], 0, 33)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blocks of 32");
    }

    @Test
    void halfAndBFloatConversions() {
        float[] x = {0f, -0f, 1f, -2.5f, 65504f, 1e-7f, 3.14159f, Float.POSITIVE_INFINITY, Float.NaN, 1.00390625f, 1.01171875f};
        byte[] h = Quantizer.toF16(x, 0, x.length);
        byte[] b = Quantizer.toBF16(x, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            float hf = Reference.f16(h, 2 * i);
            float bf = Quantizer.bf16ToFloat((short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8)));
            if (Float.isNaN(x[i])) {
                assertThat(hf).isNaN();
                assertThat(bf).isNaN();
                continue;
            }
            assertThat(hf).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(x[i])));
            if (Float.isInfinite(x[i])) {
                assertThat(bf).isEqualTo(x[i]);
                continue;
            }
            // BF16 keeps 8 significant bits: round to nearest is off by at most half an ulp, 2^-8 relative.
            assertThat((double) Math.abs(bf - x[i])).isLessThanOrEqualTo(Math.abs(x[i]) * 0x1p-8);
        }
        // Round to nearest even on the 16 dropped bits: 1 + 2^-8 is a tie that goes down to 1.0 (even), 1 + 3 * 2^-8
        // a tie that goes up to 1 + 2^-6 (even).
        assertThat(Quantizer.bf16ToFloat(Quantizer.floatToBF16(1.00390625f))).isEqualTo(1f);
        assertThat(Quantizer.bf16ToFloat(Quantizer.floatToBF16(1.01171875f))).isEqualTo(1.015625f);
        float[] back = new float[3];
        byte[] f32 = Quantizer.toF32(new float[] {1.5f, -7f, 1e30f}, 0, 3);
        WeightMatrix.of(GgmlType.F32, MemorySegment.ofArray(f32), 1, 3).dequantizeRow(0, back, 0);
        assertThat(back).containsExactly(1.5f, -7f, 1e30f);
    }
}
