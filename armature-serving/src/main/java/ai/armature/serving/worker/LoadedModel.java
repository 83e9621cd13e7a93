package ai.armature.serving.worker;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A model opened for use: the mapped GGUF file, the model over it, its tokenizer and chat template. {@code path}
 * is a GGUF file, or a directory holding one GGUF model (the first part, if split) and optionally Hugging Face
 * {@code tokenizer.json} / {@code tokenizer_config.json}, which then take precedence over the GGUF's tokenizer
 * (see {@link ModelTokenizer}). Closing unmaps the file.
 */
public record LoadedModel(Path path, GgufFile file, LlamaModel model, Tokenizer tokenizer, ChatTemplate chatTemplate, boolean demo)
        implements AutoCloseable {

    public static LoadedModel open(Path path) throws IOException {
        Path gguf = ggufOf(path);
        GgufFile file = GgufReader.open(gguf);
        try {
            LlamaModel model = LlamaModel.load(file);
            ModelTokenizer tok = ModelTokenizer.of(path, file.metadata());
            if (tok.tokenizer().vocabSize() > model.config().vocabSize()) {
                throw new IllegalArgumentException(path + ": the tokenizer has " + tok.tokenizer().vocabSize()
                        + " tokens but the model's embedding only " + model.config().vocabSize());
            }
            return new LoadedModel(path, file, model, tok.tokenizer(), tok.chatTemplate(), file.metadata().getBoolean(DemoModel.DEMO_KEY, false));
        } catch (RuntimeException | IOException e) {
            file.close();
            throw e;
        }
    }

    /** The model's tokenizer and template with the files they came from, for a frontend (see {@link TokenizerBundle}). */
    public ModelTokenizer modelTokenizer() {
        return new ModelTokenizer(path, file.metadata(), tokenizer, chatTemplate);
    }

    /** The end-of-generation ids of the model's tokenizer (the worker owns them). */
    public int[] endOfGenerationIds() {
        return ModelTokenizer.endOfGenerationIds(tokenizer);
    }

    /** The GGUF file of {@code path}: the path itself, or the one GGUF model in a directory. */
    static Path ggufOf(Path path) throws IOException {
        if (!Files.isDirectory(path)) return path;
        List<Path> found;
        try (Stream<Path> s = Files.list(path)) {
            found = s.filter(p -> p.getFileName().toString().endsWith(".gguf"))
                    .filter(p -> !p.getFileName().toString().matches(".*-0*([2-9]|[1-9]\\d+)-of-\\d+\\.gguf"))
                    .sorted().toList();
        }
        if (found.size() != 1) {
            throw new IllegalArgumentException("directory " + path + " should hold exactly one GGUF model, found " + found.size()
                    + (found.isEmpty() ? "" : ": " + found));
        }
        return found.getFirst();
    }

    @Override
    public void close() {
        file.close();
    }
}
