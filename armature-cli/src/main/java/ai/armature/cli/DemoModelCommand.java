package ai.armature.cli;

import ai.armature.engine.demo.DemoModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code armature demo-model}: writes a synthetic Llama model with seeded random weights. */
@Command(name = "demo-model", mixinStandardHelpOptions = true,
        description = {"Writes a synthetic Llama GGUF model with seeded random weights.",
                "It carries Armature's own byte-level BPE tokenizer. Its text is meaningless; it exists to run,",
                "serve and benchmark without downloads."})
final class DemoModelCommand implements Callable<Integer> {

    @Option(names = "--preset", defaultValue = "small",
            description = "tiny, small or 1b (TinyLlama-1.1B's shape). Default: ${DEFAULT-VALUE}.")
    String preset;

    @Option(names = "--type", defaultValue = "q8_0", description = "Weight type: q8_0, q4_0, f16, bf16 or f32. Default: ${DEFAULT-VALUE}.")
    String type;

    @Option(names = "--context-length",
            description = "Context length written into the model (the weights do not change). Default: the preset's (1024, 2048, 2048).")
    Integer contextLength;

    @Option(names = "--out", description = "Output file. Default: demo-PRESET-TYPE.gguf in the current directory.")
    Path out;

    @Override
    public Integer call() throws Exception {
        DemoModel.Spec spec = DemoModel.Preset.parse(preset).spec().withWeightType(DemoModel.parseWeightType(type));
        if (contextLength != null) spec = spec.withContextLength(contextLength);
        Path target = out != null ? out : Path.of("demo-" + spec.name() + "-" + type.toLowerCase() + ".gguf");
        long start = System.nanoTime();
        long bytes = DemoModel.write(spec, target);
        System.err.printf("wrote %s: %s preset, %s weights, %.1f MiB in %.1f s%n", target, spec.name(), spec.weightType(),
                bytes / 1048576.0, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
