package ai.armature.runtime.local;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A real etcd or nats-server process on loopback, for tests and local experiments: started on free ports in a
 * directory of its own, restartable on the same ports (and data), stopped on {@link #close()}. Binaries are found
 * on PATH or in /usr/bin and /usr/sbin (Debian's {@code etcd-server} and {@code nats-server} packages).
 */
public abstract class LocalServer implements AutoCloseable {

    protected final Path dir;
    private Process process;

    protected LocalServer(Path dir) {
        this.dir = dir;
    }

    /** The binary {@code name} if installed, looked up on PATH, /usr/bin and /usr/sbin. */
    public static Optional<Path> binary(String name) {
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) for (String d : path.split(":")) if (!d.isEmpty()) candidates.add(Path.of(d, name));
        candidates.add(Path.of("/usr/bin", name));
        candidates.add(Path.of("/usr/sbin", name));
        candidates.add(Path.of("/usr/local/bin", name));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /** A port nobody listens on now. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    protected abstract List<String> command();

    /** The port clients connect to. */
    public abstract int port();

    /** Starts the process and waits (bounded) until its client port accepts connections. */
    public synchronized void start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) throw new IllegalStateException("already running");
        Files.createDirectories(dir);
        process = new ProcessBuilder(command()).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("server.log").toFile())).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!accepts(port())) {
            if (!process.isAlive()) throw new IOException(command().getFirst() + " exited at start: see " + dir.resolve("server.log"));
            if (System.nanoTime() > deadline) throw new IOException(command().getFirst() + " did not start listening on port " + port());
            Thread.sleep(20);
        }
    }

    /** Stops the process (SIGKILL when {@code kill}, else SIGTERM) and waits for it. */
    public synchronized void stop(boolean kill) throws InterruptedException {
        if (process == null) return;
        if (kill) process.destroyForcibly();
        else process.destroy();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        process = null;
    }

    /** Stops and starts again on the same ports and data. */
    public void restart() throws IOException, InterruptedException {
        stop(false);
        start();
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            stop(true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
