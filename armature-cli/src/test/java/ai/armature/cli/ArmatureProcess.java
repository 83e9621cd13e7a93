package ai.armature.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code armature ...} as a separate JVM process for tests (the test's own class path, a small heap), its output in
 * a log file, and the port it announced on its "ready" line. {@link #kill()} is SIGKILL: a crashed server.
 */
final class ArmatureProcess implements AutoCloseable {

    /** The ready lines of serve, frontend and worker (whose port here is its metrics and health endpoint). */
    private static final Pattern READY = Pattern.compile(
            "ready(?:: http://[^:]+:(\\d+)/v1| frontend=http://[^:]+:(\\d+)/v1| worker=\\S+ grpc=\\S+ metrics=http://[^:]+:(\\d+)/metrics)");
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private final Process process;
    private final Path log;
    private final int port;

    private ArmatureProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** Starts {@code armature ARGS} and waits for its ready line. */
    static ArmatureProcess start(Path dir, String name, String... args) throws IOException, InterruptedException {
        return start(dir, name, READY, args);
    }

    /** Starts {@code armature ARGS} and waits for a line matching {@code ready} (group 1, if any, is the port). */
    static ArmatureProcess start(Path dir, String name, Pattern ready, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:+UseSerialGC", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Darmature.threads=1",
                "-cp", System.getProperty("java.class.path"), "ai.armature.cli.ArmatureCli"));
        cmd.addAll(List.of(args));
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        // A guard against a process that never gets ready, not a timing assertion.
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            Matcher m = ready.matcher(text);
            if (m.find()) {
                String port = null;
                for (int g = 1; g <= m.groupCount() && port == null; g++) port = m.group(g);
                return new ArmatureProcess(p, log, port == null ? -1 : Integer.parseInt(port));
            }
            if (!p.isAlive()) throw new IllegalStateException(name + " exited with " + p.exitValue() + ":\n" + text);
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IllegalStateException(name + " did not get ready:\n" + Files.readString(log));
    }

    int port() {
        return port;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    /** The value of an unlabelled Prometheus sample on /metrics (NaN if absent). */
    /** A metric's value, summed over its label sets (NaN if /metrics does not have it). */
    double metric(String name) throws IOException, InterruptedException {
        String text = get("/metrics");
        double sum = Double.NaN;
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
                sum = Double.isNaN(sum) ? v : sum + v;
            }
        }
        return sum;
    }

    String get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    boolean alive() {
        return process.isAlive();
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
    }
}
