package ai.armature.cli;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.chat.ChatTemplates;
import ai.armature.engine.embedding.BertEncoder;
import ai.armature.engine.embedding.BertModel;
import ai.armature.engine.embedding.DecoderEmbedder;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import ai.armature.serving.EmbeddingOnlyEngine;
import ai.armature.serving.EmbeddingWorker;
import ai.armature.serving.worker.LoadedModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens models for {@code serve}'s embedding mode: GGUF embedding models (architecture {@code bert} or
 * {@code nomic-bert}, mean or CLS pooling from the file), and decoder models served with {@code --embeddings} (last-token pooling), each as the
 * model, its tokenizer and an embedding worker.
 */
final class EmbeddingModels {

    /** Tokens per forward pass of the embedding worker (several requests batch into one). */
    static final int BATCH_TOKENS = 8192;

    private EmbeddingModels() {
    }

    /** Whether {@code path} is a GGUF file of an embedding architecture. */
    static boolean isEmbeddingModel(Path path) throws IOException {
        if (Files.isDirectory(path) || !path.getFileName().toString().toLowerCase().endsWith(".gguf")) return false;
        try (GgufFile f = GgufReader.open(path)) {
            return BertModel.isBert(f);
        }
    }

    /** An opened embedding model; closing stops the worker and unmaps the file. */
    record Opened(GgufFile file, EmbeddingWorker worker, EmbeddingOnlyEngine refusing, Tokenizer tokenizer, ChatTemplate chatTemplate,
                  String pooling) implements AutoCloseable {
        @Override
        public void close() {
            worker.close();
            file.close();
        }
    }

    /** A GGUF bert or nomic-bert model. */
    static Opened open(Path path, String name, int maxQueued) throws IOException {
        GgufFile f = GgufReader.open(path);
        try {
            BertModel model = BertModel.load(f);
            Tokenizer tok = Tokenizers.fromGguf(f.metadata());
            EmbeddingWorker worker = new EmbeddingWorker(new BertEncoder(model), model.config().vocabSize(), BATCH_TOKENS, maxQueued, name);
            return new Opened(f, worker, new EmbeddingOnlyEngine(worker, name), tok, ChatTemplates.fromGguf(f.metadata(), tok),
                    model.config().pooling().name().toLowerCase());
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /**
     * A decoder (Llama-family) model as an embedding model: the final-normed hidden state of each input's last
     * token, L2-normalized (see {@link DecoderEmbedder}).
     */
    static Opened openDecoder(Path path, String name, int maxQueued) throws IOException {
        LoadedModel m = LoadedModel.open(path);
        try {
            EmbeddingWorker worker = new EmbeddingWorker(new DecoderEmbedder(m.model()), m.model().config().vocabSize(), BATCH_TOKENS, maxQueued, name);
            return new Opened(m.file(), worker, new EmbeddingOnlyEngine(worker, name), m.tokenizer(), m.chatTemplate(), "last-token");
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }
}
