package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The packed panel's transpose against a plain scalar one, for row lengths around the 16-column blocks. */
class FloatGemmTest {

    @ParameterizedTest(name = "{0} columns")
    @ValueSource(ints = {1, 15, 16, 17, 32, 33, 259})
    void packTransposesThePanel(int c) {
        Random rnd = new Random(c);
        float[] w = new float[FloatGemm.PANEL * c];
        for (int i = 0; i < w.length; i++) {
            w[i] = rnd.nextFloat();
        }
        float[] p = new float[FloatGemm.PANEL * c + 1];
        p[FloatGemm.PANEL * c] = 42f;
        FloatGemm.pack(w, c, p);
        float[] expected = new float[FloatGemm.PANEL * c + 1];
        expected[FloatGemm.PANEL * c] = 42f;
        for (int i = 0; i < FloatGemm.PANEL; i++) {
            for (int k = 0; k < c; k++) {
                expected[k * FloatGemm.PANEL + i] = w[i * c + k];
            }
        }
        assertThat(p).containsExactly(expected);
    }
}
