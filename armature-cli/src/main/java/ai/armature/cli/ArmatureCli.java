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
        footer = {"", "./armature test runs the test suite (the launcher handles it; it is not a subcommand)."},
        subcommands = {
                CommandLine.HelpCommand.class,
                RunCommand.class,
                ServeCommand.class,
                WorkerCommand.class,
                FrontendCommand.class,
                SimulateCommand.class,
                DemoModelCommand.class,
                BenchCommand.class,
                ProfileCommand.class,
                PlannerCommand.class,
                InspectCommand.class,
                TokenizeCommand.class,
                DetokenizeCommand.class,
        })
public final class ArmatureCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        configureLogging();
        System.exit(commandLine().execute(args));
    }

    /** One line per log event for operators; libraries' start-up chatter only at WARNING and above. */
    private static void configureLogging() {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT %4$s %3$s: %5$s%6$s%n");
        }
        java.util.logging.Logger.getLogger("io.helidon").setLevel(java.util.logging.Level.WARNING);
        KEEP.add(java.util.logging.Logger.getLogger("io.helidon"));
    }

    /** Loggers are weakly held: keep the configured ones alive. */
    private static final java.util.List<java.util.logging.Logger> KEEP = new java.util.ArrayList<>();

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
