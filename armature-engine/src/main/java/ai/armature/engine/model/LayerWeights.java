package ai.armature.engine.model;

import ai.armature.engine.tensor.WeightMatrix;

/**
 * The weights of one transformer block. {@code qBias/kBias/vBias} exist for Qwen2 only and
 * {@code qNorm/kNorm} (one RMSNorm weight per head dimension) for Qwen3 only; otherwise they are null.
 */
record LayerWeights(
        float[] attnNorm,
        WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
        float[] qBias, float[] kBias, float[] vBias,
        float[] qNorm, float[] kNorm,
        float[] ffnNorm,
        WeightMatrix wGate, WeightMatrix wUp, WeightMatrix wDown) {
}
