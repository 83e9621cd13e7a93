package ai.armature.protocol;

import java.util.List;

/**
 * Something that turns token sequences into embeddings: one embedding worker, or a client of one elsewhere. The
 * frontend's {@code /v1/embeddings} talks to it as chat talks to a {@link GenerationEngine}. Thread-safe.
 */
public interface EmbeddingEngine extends AutoCloseable {

    /**
     * Unit-length embeddings of {@code inputs}, one per input, in order; blocks until they are computed.
     *
     * @throws RequestRejectedException when an input is empty, too long or holds an id outside the vocabulary
     *                                  (INVALID, PROMPT_TOO_LONG), the queue is full, or the worker shut down
     */
    float[][] embed(List<int[]> inputs) throws InterruptedException;

    /** Length of every embedding. */
    int dimensions();

    /** The longest input, in tokens. */
    int maxInputTokens();

    /** Whether the engine can take requests. */
    default boolean healthy() {
        return true;
    }

    @Override
    void close();
}
