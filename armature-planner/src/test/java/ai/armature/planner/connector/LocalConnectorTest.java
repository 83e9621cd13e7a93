package ai.armature.planner.connector;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.planner.Pool;

/**
 * The local connector's process handling, with a shell script standing in for {@code armature}: it prints its
 * arguments and, like a worker, on SIGTERM says it drains and exits 0. (Real workers: the planner role's test.)
 */
class LocalConnectorTest {

    @TempDir
    Path dir;

    @Test
    void startsWorkerProcessesWithTheirIdsAndStopsThemWithSigterm() throws Exception {
        Path script = dir.resolve("fake-armature.sh");
        Files.writeString(script, """
                echo "args: $*"
                trap 'echo draining; exit 0' TERM
                while true; do sleep 0.05; done
                """);
        BlockingQueue<String> exited = new LinkedBlockingQueue<>();
        LocalConnector c = new LocalConnector(List.of("sh", script.toString()), List.of("--discovery", "etcd://x:1", "--events", "nats://y:2"),
                Map.of(Pool.AGGREGATED, List.of("--mock-profile", "h100-llama3-8b")), dir.resolve("logs"), Duration.ofSeconds(10));
        c.listen(exited::add);
        List<String> ids = c.start(Pool.AGGREGATED, 2);
        assertThat(ids).hasSize(2).doesNotHaveDuplicates();
        assertThat(c.running()).containsExactlyElementsOf(ids);
        Path log = dir.resolve("logs").resolve(ids.getFirst() + ".log");
        waitFor(() -> Files.exists(log) && Files.readString(log).contains("args:"));
        assertThat(Files.readString(log)).contains("args: worker --worker-id " + ids.getFirst()
                + " --discovery etcd://x:1 --events nats://y:2 --mock-profile h100-llama3-8b");

        c.stop(Pool.AGGREGATED, ids.getFirst(), true);
        assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo(ids.getFirst());
        waitFor(() -> Files.readString(log).contains("draining"));
        assertThat(c.running()).containsExactly(ids.get(1));

        c.stop(Pool.AGGREGATED, "unknown", false);
        assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo("unknown");
        c.close();
        assertThat(exited.poll(10, TimeUnit.SECONDS)).isEqualTo(ids.get(1));
        assertThat(c.running()).isEmpty();
        assertThat(c.command(Pool.DECODE, "w")).containsSubsequence("worker", "--worker-id", "w", "--role", "decode");
    }

    @Test
    void aLauncherThatCannotStartStartsNothing() throws Exception {
        LocalConnector c = new LocalConnector(List.of(dir.resolve("missing").toString()), List.of(), Map.of(), dir, Duration.ofSeconds(1));
        assertThat(c.start(Pool.AGGREGATED, 1)).isEmpty();
        c.close();
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void waitFor(Check c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.ok()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out");
            Thread.sleep(20);
        }
    }
}
