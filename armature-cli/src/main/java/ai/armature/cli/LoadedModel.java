package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;

import java.nio.file.Path;

/** A GGUF model opened for use: the mapped file, the model over it and its tokenizer. Closing unmaps the file. */
record LoadedModel(Path path, GgufFile file, LlamaModel model, Tokenizer tokenizer, boolean demo) implements AutoCloseable {

    static LoadedModel open(Path path) {
        GgufFile file = GgufReader.open(path);
        try {
            LlamaModel model = LlamaModel.load(file);
            Tokenizer tokenizer = Tokenizers.fromGguf(file.metadata());
            return new LoadedModel(path, file, model, tokenizer, file.metadata().getBoolean(DemoModel.DEMO_KEY, false));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public void close() {
        file.close();
    }
}
