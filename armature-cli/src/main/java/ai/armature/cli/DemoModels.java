package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The demo model commands fall back to when no {@code --model} is given: generated once into the user's cache
 * directory ({@code $XDG_CACHE_HOME/armature}, else {@code ~/.cache/armature}) and reused.
 */
final class DemoModels {

    static final String BANNER = "armature: no --model given, using the demo model (random weights: its text is meaningless).\n"
            + "armature: to use a real model, pass --model FILE.gguf (a Llama, Qwen2 or Qwen3 GGUF).";

    private DemoModels() {
    }

    static Path cached(DemoModel.Preset preset) throws IOException {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path dir = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("armature");
        Path file = dir.resolve("demo-" + preset.spec().name() + "-q8_0.gguf");
        if (!Files.exists(file)) {
            Files.createDirectories(dir);
            System.err.println("armature: generating the demo model into " + file + " (once)...");
            DemoModel.write(preset.spec(), file);
        }
        return file;
    }
}
