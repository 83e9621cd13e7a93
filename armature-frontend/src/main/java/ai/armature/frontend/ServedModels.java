package ai.armature.frontend;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.protocol.EmbeddingEngine;
import ai.armature.protocol.GenerationEngine;

import java.util.List;
import java.util.Objects;

/**
 * The models a frontend serves, each with its own tokenizer, chat template and engine (for a cluster: migration
 * over the model's router). {@link #listed()} is what {@code /v1/models} shows (models with a worker now);
 * {@link #find} may also return a model that is known but has no worker at the moment (requests then get 503),
 * and null for a model never served (404). Implementations are thread-safe and may change at any time.
 */
public interface ServedModels {

    /** Models that have at least one reachable worker now, in a stable order. */
    List<ServedModel> listed();

    /** The model called {@code name}, or null if this frontend never served it. */
    ServedModel find(String name);

    /** One model, always there: {@code armature serve}. */
    static ServedModels single(ServedModel model) {
        List<ServedModel> list = List.of(model);
        return new ServedModels() {
            @Override
            public List<ServedModel> listed() {
                return list;
            }

            @Override
            public ServedModel find(String name) {
                return model.name().equals(name) ? model : null;
            }
        };
    }

    /**
     * One served model: its name, its engine, the tokenizer and chat template of its workers, its context length
     * in tokens (0: ask the engine), and for an embedding model its embedding engine (null for others; its
     * generation engine then refuses generation).
     */
    record ServedModel(String name, GenerationEngine engine, Tokenizer tokenizer, ChatTemplate chatTemplate, int contextTokens,
                       EmbeddingEngine embeddings) {
        public ServedModel {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(engine, "engine");
            Objects.requireNonNull(tokenizer, "tokenizer");
            Objects.requireNonNull(chatTemplate, "chatTemplate");
        }

        public ServedModel(String name, GenerationEngine engine, Tokenizer tokenizer, ChatTemplate chatTemplate, int contextTokens) {
            this(name, engine, tokenizer, chatTemplate, contextTokens, null);
        }
    }
}
