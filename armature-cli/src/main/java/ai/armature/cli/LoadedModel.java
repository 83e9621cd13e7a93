package ai.armature.cli;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.chat.ChatTemplates;
import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A model opened for use: the mapped GGUF file, the model over it, its tokenizer and chat template. {@code path}
 * is a GGUF file, or a directory holding one GGUF model (the first part, if split) and optionally Hugging Face
 * {@code tokenizer.json} / {@code tokenizer_config.json}, which then take precedence over the GGUF's tokenizer.
 * Closing unmaps the file.
 */
record LoadedModel(Path path, GgufFile file, LlamaModel model, Tokenizer tokenizer, ChatTemplate chatTemplate, boolean demo)
        implements AutoCloseable {

    static LoadedModel open(Path path) throws IOException {
        Path gguf = Files.isDirectory(path) ? findGguf(path) : path;
        GgufFile file = GgufReader.open(gguf);
        try {
            LlamaModel model = LlamaModel.load(file);
            Tokenizer tokenizer;
            ChatTemplate template;
            if (Files.isDirectory(path) && Files.exists(path.resolve("tokenizer.json"))) {
                tokenizer = Tokenizers.load(path);
                template = ChatTemplates.load(path);
            } else {
                tokenizer = Tokenizers.fromGguf(file.metadata());
                template = ChatTemplates.fromGguf(file.metadata(), tokenizer);
            }
            if (tokenizer.vocabSize() > model.config().vocabSize()) {
                throw new IllegalArgumentException(path + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model's embedding only " + model.config().vocabSize());
            }
            return new LoadedModel(path, file, model, tokenizer, template, file.metadata().getBoolean(DemoModel.DEMO_KEY, false));
        } catch (RuntimeException | IOException e) {
            file.close();
            throw e;
        }
    }

    private static Path findGguf(Path dir) throws IOException {
        List<Path> found;
        try (Stream<Path> s = Files.list(dir)) {
            found = s.filter(p -> p.getFileName().toString().endsWith(".gguf"))
                    .filter(p -> !p.getFileName().toString().matches(".*-0*([2-9]|[1-9]\\d+)-of-\\d+\\.gguf"))
                    .sorted().toList();
        }
        if (found.size() != 1) {
            throw new IllegalArgumentException("directory " + dir + " should hold exactly one GGUF model, found " + found.size()
                    + (found.isEmpty() ? "" : ": " + found));
        }
        return found.getFirst();
    }

    @Override
    public void close() {
        file.close();
    }
}
