package ai.armature.serving.worker;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.chat.ChatTemplates;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A model's tokenizer and chat template without its weights, and where they came from: a Hugging Face
 * {@code tokenizer.json} (with {@code tokenizer_config.json} / {@code chat_template.jinja}) when the model
 * directory has one, else the GGUF metadata. {@link #open} reads only the GGUF header, never the tensors, so a
 * frontend can open a model this way; {@link TokenizerBundle} packs the same sources for a frontend elsewhere.
 *
 * @param source   the model's path (a GGUF file or a directory)
 * @param metadata the GGUF metadata when the tokenizer comes from it, else null
 */
public record ModelTokenizer(Path source, GgufMetadata metadata, Tokenizer tokenizer, ChatTemplate chatTemplate) {

    /** Opens only the tokenizer and template of a model file or directory. */
    public static ModelTokenizer open(Path path) throws IOException {
        if (usesHuggingFaceFiles(path)) return of(path, null);
        try (GgufFile file = GgufReader.open(LoadedModel.ggufOf(path))) {
            return of(path, file.metadata());
        }
    }

    /** The tokenizer of {@code path} given its GGUF metadata (ignored when Hugging Face files take precedence). */
    static ModelTokenizer of(Path path, GgufMetadata metadata) throws IOException {
        if (usesHuggingFaceFiles(path)) {
            return new ModelTokenizer(path, null, Tokenizers.load(path), ChatTemplates.load(path));
        }
        Tokenizer tokenizer = Tokenizers.fromGguf(metadata);
        return new ModelTokenizer(path, metadata, tokenizer, ChatTemplates.fromGguf(metadata, tokenizer));
    }

    /** A directory with {@code tokenizer.json} takes its tokenizer from there rather than from its GGUF file. */
    static boolean usesHuggingFaceFiles(Path path) {
        return Files.isDirectory(path) && Files.exists(path.resolve("tokenizer.json"));
    }

    /** Every token id the tokenizer says ends generation (the tokenizer is their one source). */
    public static int[] endOfGenerationIds(Tokenizer tok) {
        return tok.endOfGenerationIds();
    }
}
