package ai.armature.engine.embedding;

import java.util.List;

/** Token sequences to unit-length embedding vectors, batched. One instance per thread (it keeps buffers). */
public interface Embedder {

    /** Length of every embedding. */
    int dimensions();

    /** The longest input, in tokens. */
    int maxInputTokens();

    /** One normalized embedding per input; throws IllegalArgumentException for an empty or too long input. */
    float[][] embed(List<int[]> inputs);
}
