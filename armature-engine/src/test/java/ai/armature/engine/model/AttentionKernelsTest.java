package ai.armature.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The attention kernels against plain double-precision loops, over block sizes that are and are not multiples of
 * the 16-lane vector, head sizes with and without a 64- or 16-element remainder, 1 to 4 query heads, and lengths
 * that end inside a block.
 */
class AttentionKernelsTest {

    @ParameterizedTest(name = "bs={0} hd={1} heads={2} len={3}")
    @CsvSource({"16,64,4,1", "16,64,4,37", "16,128,3,48", "32,64,2,45", "5,64,4,23", "1,8,1,3", "16,80,4,33", "48,72,1,100"})
    void scoresMatchDotProducts(int bs, int hd, int heads, int len) {
        Random rnd = new Random(bs * 131 + hd * 7 + heads + len);
        int blocks = (len + bs - 1) / bs;
        int cap = blocks * bs;
        float[][] key = new float[cap][hd];
        float[] gathered = new float[cap * hd];
        for (int p = 0; p < cap; p++) {
            for (int d = 0; d < hd; d++) {
                key[p][d] = (float) rnd.nextGaussian();
                gathered[((p / bs) * hd + d) * bs + p % bs] = key[p][d]; // KvCache.gatherKeys's layout
            }
        }
        float[] q = new float[3 + 4 * hd];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        float scale = 0.125f;
        int outOff = 7;
        float[] out = new float[outOff + heads * cap];
        AttentionKernels.scores(gathered, bs, hd, len, q, 3, heads, out, outOff, cap, scale);
        for (int h = 0; h < heads; h++) {
            for (int p = 0; p < len; p++) {
                double ref = 0, abs = 0;
                for (int d = 0; d < hd; d++) {
                    ref += (double) key[p][d] * q[3 + h * hd + d];
                    abs += Math.abs((double) key[p][d] * q[3 + h * hd + d]);
                }
                assertThat((double) out[outOff + h * cap + p]).as("head %d position %d", h, p)
                        .isCloseTo(ref * scale, within(abs * scale * 1e-5 + 1e-6));
            }
        }
    }

    @ParameterizedTest(name = "hd={0} len={1}")
    @CsvSource({"64,1", "64,37", "128,200", "80,19", "72,5", "8,3"})
    void weightedSumMatchesLoop(int hd, int len) {
        Random rnd = new Random(hd * 31 + len);
        float[] w = new float[2 + len];
        float[] values = new float[len * hd];
        for (int i = 0; i < w.length; i++) w[i] = rnd.nextFloat();
        for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian();
        float[] out = new float[5 + hd];
        AttentionKernels.weightedSum(w, 2, values, len, hd, out, 5);
        for (int d = 0; d < hd; d++) {
            double ref = 0, abs = 0;
            for (int p = 0; p < len; p++) {
                ref += (double) w[2 + p] * values[p * hd + d];
                abs += Math.abs((double) w[2 + p] * values[p * hd + d]);
            }
            assertThat((double) out[5 + d]).as("dimension %d", d).isCloseTo(ref, within(abs * 1e-5 + 1e-6));
        }
    }
}
