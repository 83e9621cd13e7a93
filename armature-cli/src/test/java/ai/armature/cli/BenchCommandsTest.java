package ai.armature.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The bench subcommands are wired in and turn user errors into one line. */
class BenchCommandsTest {

    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = ArmatureCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    @Test
    void compareOfAMissingFileSaysSo(@TempDir Path dir) {
        assertThat(run("bench", "compare", dir.resolve("a.json").toString(), dir.resolve("b.json").toString()))
                .isEqualTo(1);
        assertThat(err.toString()).contains("no such file").doesNotContain("Exception");
    }

    @Test
    void loadAgainstNoServerIsAOneLineError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertThat(run("bench", "load", "--url", "http://127.0.0.1:" + port, "--no-progress")).isEqualTo(1);
        assertThat(err.toString()).contains("cannot connect").contains("is the server running");
    }

    @Test
    void anUnknownWorkloadIsRejected() {
        assertThat(run("bench", "load", "--workload", "nonsense", "--model", "m")).isEqualTo(1);
        assertThat(err.toString()).contains("unknown workload 'nonsense'");
    }
}
