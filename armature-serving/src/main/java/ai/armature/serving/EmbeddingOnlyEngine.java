package ai.armature.serving;

import ai.armature.protocol.EmbeddingEngine;
import ai.armature.protocol.EngineStats;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;

/**
 * The generation side of an embedding model: it generates nothing, so every request is refused with a message
 * that points to {@code /v1/embeddings} (a 400 for chat and completions), while health and context follow the
 * embedding worker.
 */
public final class EmbeddingOnlyEngine implements GenerationEngine {

    private final EmbeddingEngine embeddings;
    private final String modelName;

    public EmbeddingOnlyEngine(EmbeddingEngine embeddings, String modelName) {
        this.embeddings = embeddings;
        this.modelName = modelName;
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        throw new RequestRejectedException(RequestRejectedException.Reason.INVALID, "'" + modelName
                + "' is an embedding model: it does not generate text; use POST /v1/embeddings");
    }

    @Override
    public void cancel(String requestId) {
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(0, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public boolean healthy() {
        return embeddings.healthy();
    }

    @Override
    public int maxContextTokens() {
        return embeddings.maxInputTokens();
    }

    @Override
    public void close() {
    }
}
