package ai.armature.planner.connector;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import ai.armature.planner.Pool;

/**
 * Runs workers as processes on this machine ({@code --connector local}): each start launches
 * {@code LAUNCHER worker --worker-id ID CLUSTER-ARGS WORKER-ARGS} (the same {@code armature} the planner runs,
 * the planner's {@code --discovery}, {@code --events} and {@code --namespace}, and the pool's worker options), with
 * its output in {@code LOG-DIR/ID.log}; the worker registers through discovery when it serves. Stopping sends it
 * SIGTERM: a serving worker drains (deregisters, finishes or hands back its requests within its
 * {@code --drain-timeout}, exits 0); a starting one just exits. Every exit is reported. Closing the connector
 * drains every worker it started and waits for them (up to {@code closeTimeout}), then kills what is left.
 */
public final class LocalConnector implements Connector {

    private static final Logger LOG = Logger.getLogger(LocalConnector.class.getName());

    private final List<String> launcher;
    private final List<String> clusterArgs;
    private final Map<Pool, List<String>> workerArgs = new EnumMap<>(Pool.class);
    private final Path logDir;
    private final Duration closeTimeout;
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private final String prefix = "local-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 4);
    private volatile Listener listener = id -> { };
    private long next;

    /**
     * @param launcher    the command that runs {@code armature} (its subcommand and options follow)
     * @param clusterArgs {@code --discovery URL --events URL --namespace NS} (and TLS options) for every worker
     * @param workerArgs  each pool's worker options ({@code --mock-profile ...}, {@code --model ...}, ...)
     */
    public LocalConnector(List<String> launcher, List<String> clusterArgs, Map<Pool, List<String>> workerArgs, Path logDir,
                          Duration closeTimeout) throws IOException {
        if (launcher.isEmpty()) throw new IllegalArgumentException("the worker launcher command is empty");
        this.launcher = List.copyOf(launcher);
        this.clusterArgs = List.copyOf(clusterArgs);
        workerArgs.forEach((p, a) -> this.workerArgs.put(p, List.copyOf(a)));
        this.logDir = Objects.requireNonNull(logDir, "logDir");
        this.closeTimeout = Objects.requireNonNull(closeTimeout, "closeTimeout");
        Files.createDirectories(logDir);
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public void listen(Listener l) {
        this.listener = Objects.requireNonNull(l);
    }

    /** The command line a worker of {@code pool} with id {@code id} runs. */
    public List<String> command(Pool pool, String id) {
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add("worker");
        cmd.add("--worker-id");
        cmd.add(id);
        if (pool != Pool.AGGREGATED) {
            cmd.add("--role");
            cmd.add(pool.roleName());
        }
        cmd.addAll(clusterArgs);
        cmd.addAll(workerArgs.getOrDefault(pool, List.of()));
        return cmd;
    }

    @Override
    public synchronized List<String> start(Pool pool, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = prefix + "-" + pool.roleName() + "-" + ++next;
            Path log = logDir.resolve(id + ".log");
            ProcessBuilder pb = new ProcessBuilder(command(pool, id)).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(nullFile()));
            try {
                Process p = pb.start();
                processes.put(id, p);
                p.onExit().thenRun(() -> exited(id, p));
                ids.add(id);
                LOG.info("planner: started worker " + id + " (pid " + p.pid() + ", log " + log + ")");
            } catch (IOException e) {
                LOG.warning("planner: cannot start a worker (" + String.join(" ", launcher) + "): " + e.getMessage());
            }
        }
        return ids;
    }

    private static java.io.File nullFile() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    private void exited(String id, Process p) {
        synchronized (this) {
            processes.remove(id, p);
        }
        LOG.info("planner: worker " + id + " exited with status " + p.exitValue());
        listener.exited(id);
    }

    @Override
    public synchronized void stop(Pool pool, String workerId, boolean serving) {
        Process p = processes.get(workerId);
        if (p == null) {
            listener.exited(workerId);
            return;
        }
        LOG.info("planner: " + (serving ? "draining" : "cancelling") + " worker " + workerId + " (SIGTERM to pid " + p.pid() + ")");
        p.destroy();
    }

    /** Workers started and not exited. */
    public synchronized List<String> running() {
        return List.copyOf(processes.keySet());
    }

    @Override
    public void close() {
        List<Process> left;
        synchronized (this) {
            left = List.copyOf(processes.values());
        }
        for (Process p : left) p.destroy();
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        for (Process p : left) {
            try {
                if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
