package ai.armature.engine.model;

/**
 * The rotation frequency of each dimension pair of a head, with any position scaling folded in, and the cos/sin
 * tables for a batch of positions. Computing the tables once per forward pass (not per layer or head) keeps the
 * trigonometry off the hot path.
 */
final class RopeFrequencies {

    private final float[] inverseFrequencies; // per pair, already divided by any scaling factor
    private final float positionScale;

    RopeFrequencies(ModelConfig config, float[] freqFactors) {
        int pairs = config.headDim() / 2;
        inverseFrequencies = new float[pairs];
        ModelConfig.RopeScaling scaling = config.ropeScaling();
        for (int i = 0; i < pairs; i++) {
            double freq = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim());
            if (freqFactors != null) {
                freq /= freqFactors[i];
            } else if (scaling != null && scaling.kind() == ModelConfig.RopeScaling.Kind.LLAMA3) {
                freq = llama3Scaled(freq, scaling);
            }
            inverseFrequencies[i] = (float) freq;
        }
        positionScale = scaling != null && scaling.kind() == ModelConfig.RopeScaling.Kind.LINEAR ? 1f / scaling.factor() : 1f;
    }

    /** Llama 3.1's rule: keep high frequencies, divide low ones by the factor, blend smoothly in between. */
    private static double llama3Scaled(double freq, ModelConfig.RopeScaling s) {
        double lowFreqWavelen = s.originalContextLength() / s.lowFreqFactor();
        double highFreqWavelen = s.originalContextLength() / s.highFreqFactor();
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) return freq;
        if (wavelen > lowFreqWavelen) return freq / s.factor();
        double smooth = (s.originalContextLength() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }

    int pairs() {
        return inverseFrequencies.length;
    }

    /** Fills {@code cos[t * pairs + i]} and {@code sin[...]} for the positions of {@code n} tokens. */
    void tables(int[] positions, int n, float[] cos, float[] sin) {
        int pairs = inverseFrequencies.length;
        for (int t = 0; t < n; t++) {
            double pos = positions[t] * (double) positionScale;
            for (int i = 0; i < pairs; i++) {
                double angle = pos * inverseFrequencies[i];
                cos[t * pairs + i] = (float) Math.cos(angle);
                sin[t * pairs + i] = (float) Math.sin(angle);
            }
        }
    }
}
