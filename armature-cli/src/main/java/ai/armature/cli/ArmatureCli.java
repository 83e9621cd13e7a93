package ai.armature.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code armature} command: one entry point whose subcommands wire the modules into roles (run a model,
 * serve it, benchmark it). Expected errors print one line and exit non-zero; no stack traces.
 */
@Command(
        name = "armature",
        mixinStandardHelpOptions = true,
        versionProvider = ArmatureCli.Version.class,
        description = "Armature: an inference-serving system with a built-in pure-Java engine.",
        subcommands = {
                CommandLine.HelpCommand.class,
                RunCommand.class,
                DemoModelCommand.class,
                BenchCommand.class,
                InspectCommand.class,
                TokenizeCommand.class,
                DetokenizeCommand.class,
        })
public final class ArmatureCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests execute it in-process. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new ArmatureCli());
        cl.setExecutionExceptionHandler(new CliErrors());
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"armature 0.1.0 (Java " + Runtime.version() + ")"};
        }
    }
}
