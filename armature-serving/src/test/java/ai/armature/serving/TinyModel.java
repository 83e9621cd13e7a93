package ai.armature.serving;

import java.io.IOException;
import java.nio.file.Path;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.LlamaModel;

/** The tiny demo model written to a test directory and loaded; closing unmaps it. */
public record TinyModel(GgufFile file, LlamaModel model) implements AutoCloseable {

    public static TinyModel write(Path dir) throws IOException {
        return write(dir, DemoModel.Preset.TINY.spec().weightType());
    }

    /** The tiny model with its weights in {@code type}. */
    public static TinyModel write(Path dir, ai.armature.engine.tensor.GgmlType type) throws IOException {
        Path path = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec().withWeightType(type), path);
        GgufFile file = GgufReader.open(path);
        return new TinyModel(file, LlamaModel.load(file));
    }

    @Override
    public void close() {
        file.close();
    }
}
