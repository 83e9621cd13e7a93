package ai.armature.cli;

import ai.armature.runtime.local.LocalEtcd;
import ai.armature.runtime.local.LocalNats;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A distributed deployment on loopback for tests: real etcd and nats-server, and {@code armature worker} /
 * {@code armature frontend} processes, each its own JVM started from the test's class path, stopped at the end.
 */
final class LocalCluster implements AutoCloseable {

    /** A started role: its process, the fields of its ready line, and its log. */
    record Role(Process process, Map<String, String> ready, Path log) {
        String metricsUrl() {
            return ready.get("metrics");
        }

        String id() {
            return ready.getOrDefault("worker", "frontend");
        }
    }

    final Path dir;
    final LocalEtcd etcd;
    final LocalNats nats;
    final String namespace;
    private final List<Role> roles = new ArrayList<>();
    private final List<Launched> launchedOnes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private int started;

    LocalCluster(Path dir, String namespace) throws Exception {
        this(dir, namespace, true);
    }

    /** With {@code startServers} false, etcd and NATS are on their ports but not started: the test starts them. */
    LocalCluster(Path dir, String namespace, boolean startServers) throws Exception {
        this.dir = dir;
        this.namespace = namespace;
        this.etcd = new LocalEtcd(LocalEtcd.find().orElseThrow(), dir.resolve("etcd"));
        this.nats = new LocalNats(LocalNats.find().orElseThrow(), dir.resolve("nats"), null);
        if (startServers) {
            etcd.start();
            nats.start();
        }
    }

    /** Whether the binaries the cluster needs are installed. */
    static boolean available() {
        return LocalEtcd.find().isPresent() && LocalNats.find().isPresent();
    }

    List<String> planes() {
        return List.of("--discovery", etcd.url(), "--events", nats.url(), "--namespace", namespace);
    }

    /** Starts {@code armature worker} with the cluster's planes and {@code args}, and waits for its ready line. */
    Role worker(String... args) throws Exception {
        return ready(launchWorker(args));
    }

    /** Starts {@code armature frontend} with the cluster's planes and {@code args}, and waits for its ready line. */
    Role frontend(String... args) throws Exception {
        return ready(launchFrontend(args));
    }

    /** A role's process started, its ready line still to come ({@code ready} completes with null if it exits first). */
    record Launched(Process process, CompletableFuture<String> ready, Path log, String what) {
        String logText() throws IOException {
            return Files.readString(log);
        }
    }

    /** Starts {@code armature worker} with the cluster's planes and {@code args}, without waiting for it. */
    Launched launchWorker(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("worker"));
        a.addAll(planes());
        a.addAll(List.of(args));
        return launch(a);
    }

    /** Starts {@code armature frontend} with the cluster's planes and {@code args}, without waiting for it. */
    Launched launchFrontend(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("frontend", "--host", "127.0.0.1", "--port", "0"));
        a.addAll(planes());
        a.addAll(List.of(args));
        return launch(a);
    }

    /** Starts {@code armature ARGS} in a new JVM; its ready line is read in the background. */
    Launched launch(List<String> args) throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(javaBin, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), "ai.armature.cli.ArmatureCli"));
        cmd.addAll(args);
        // Logs stay in target/ after the run, for diagnosing a failure.
        Path logs = Files.createDirectories(Path.of("target", "cluster-logs", namespace));
        Path log = logs.resolve(args.getFirst() + "-" + (++started) + ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = new CompletableFuture<>();
        // A platform thread, not a virtual one: a full suite once missed a worker's ready line for 120 s although the
        // worker had printed it, and a blocked pipe read on a platform thread depends on no scheduler.
        Thread.ofPlatform().daemon(true).name("armature-test-stdout-" + args.getFirst()).start(() -> {
            try {
                for (String l; (l = out.readLine()) != null; ) {
                    if (!line.isDone() && l.startsWith("ready")) line.complete(l);
                }
            } catch (IOException e) {
                // process ended
            }
            line.complete(null);
        });
        Launched launched = new Launched(p, line, log, args.getFirst());
        synchronized (roles) {
            launchedOnes.add(launched);
        }
        return launched;
    }

    /** Waits (hang guard only) for a launched role's ready line; fails with its log if it exits first. */
    Role ready(Launched l) throws Exception {
        String ready;
        try {
            ready = l.ready().get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            ready = null;
        }
        if (ready == null) {
            boolean alive = l.process().isAlive();
            l.process().destroyForcibly();
            throw new IllegalStateException(l.what() + " did not get ready (" + (alive ? "still running; this JVM's threads, virtual ones "
                    + "included, are in " + dumpThreads(l) : "it exited") + "): " + l.logText());
        }
        Process p = l.process();
        Path log = l.log();
        Map<String, String> fields = new HashMap<>();
        for (String kv : ready.substring("ready".length()).trim().split(" ")) {
            int eq = kv.indexOf('=');
            if (eq > 0) fields.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        Role r = new Role(p, fields, log);
        synchronized (roles) {
            roles.add(r);
        }
        return r;
    }

    /** Writes this JVM's threads, virtual ones included, beside the role's log; returns the file. */
    private static Path dumpThreads(Launched l) {
        Path file = l.log().resolveSibling(l.log().getFileName() + ".threads.json");
        try {
            Files.deleteIfExists(file);
            java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .dumpThreads(file.toAbsolutePath().toString(), com.sun.management.HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
        } catch (IOException | RuntimeException e) {
            return Path.of("(no thread dump: " + e.getMessage() + ")");
        }
        return file.toAbsolutePath();
    }

    /** The base URL of a frontend's OpenAI API. */
    static String api(Role frontend) {
        return frontend.ready().get("frontend");
    }

    /** One metric's value from a worker's /metrics, or -1 if the worker does not answer. */
    double metric(Role worker, String name) {
        try {
            String body = http.send(HttpRequest.newBuilder(URI.create(worker.metricsUrl())).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String l : body.split("\n")) if (l.startsWith(name + " ")) return Double.parseDouble(l.substring(name.length() + 1).trim());
            return -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Whether a worker runs no request and holds no KV block for one. */
    boolean idle(Role worker) {
        return metric(worker, "armature_requests_running") == 0 && metric(worker, "armature_requests_waiting") == 0
                && metric(worker, "armature_kv_blocks_used") == 0 && metric(worker, "armature_grpc_requests_in_flight") == 0;
    }

    /** Sends a POSIX signal (STOP, CONT, ...) to a role's process. */
    static void signal(Role r, String signal) throws Exception {
        new ProcessBuilder("kill", "-" + signal, Long.toString(r.process().pid())).inheritIO().start().waitFor();
    }

    String get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Waits for a condition; the bound is only a hang guard. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not reached within the hang guard: " + what);
            Thread.sleep(25);
        }
    }

    void stop(Role r) {
        r.process().destroyForcibly();
        try {
            r.process().waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        List<Role> all = new ArrayList<>();
        synchronized (roles) {
            all.addAll(roles);
            for (Launched l : launchedOnes) {
                if (all.stream().noneMatch(r -> r.process() == l.process())) all.add(new Role(l.process(), Map.of(), l.log()));
            }
        }
        for (Role r : all) {
            try {
                if (r.process().isAlive()) signal(r, "CONT");
            } catch (Exception e) {
                // best effort
            }
            stop(r);
        }
        nats.close();
        etcd.close();
    }
}
