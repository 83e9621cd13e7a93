package ai.armature.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code armature bench ...}: the benchmark commands. Benchmarks print figures; they are never tests. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks: engine, tokenizer, serving, structured output, router, and load against any OpenAI-compatible server.",
        subcommands = {
                EngineBenchCommand.class,
                ServingBenchCommand.class,
                StructuredBenchCommand.class,
                TokenizerBenchCommand.class,
                LoadBenchCommand.class,
                CompareBenchCommand.class,
                RouterBenchCommand.class,
        })
public final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
