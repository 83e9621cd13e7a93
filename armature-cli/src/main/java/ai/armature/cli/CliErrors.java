package ai.armature.cli;

import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

/**
 * Turns the errors a user can cause (bad files, bad arguments) into one line on stderr and exit code 1; anything
 * else is a bug and keeps its stack trace.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        Throwable t = e instanceof UncheckedIOException u ? u.getCause() : e;
        if (t instanceof NoSuchFileException nsf) {
            cl.getErr().println("armature: no such file: " + nsf.getFile());
            return 1;
        }
        if (t instanceof IOException || t instanceof IllegalArgumentException || t instanceof UserError
                || t.getClass().getName().startsWith("ai.armature.") && t instanceof RuntimeException) {
            cl.getErr().println("armature: " + t.getMessage());
            return 1;
        }
        cl.getErr().println("armature: internal error: " + t);
        t.printStackTrace(cl.getErr());
        return 2;
    }

    /** An error caused by the user's input, shown as one line. */
    static final class UserError extends RuntimeException {
        UserError(String message) {
            super(message);
        }
    }
}
