package ai.armature.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * Runs one simulation per routing policy over the same workload (a fresh copy each) and settings, in parallel on
 * {@code threads} threads; each run is single-threaded and deterministic, so the results do not depend on the
 * thread count. Reports wall time per run to {@code progress}.
 */
public final class Simulator {

    /** One finished run with the wall-clock seconds it took (not part of the deterministic result). */
    public record Run(Simulation.Outcome outcome, double wallSeconds) {
    }

    private Simulator() {
    }

    public static List<Run> runAll(List<Simulation.Settings> perPolicy, Supplier<SimWorkload> workload, int threads,
                                   java.util.function.Consumer<String> progress) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, perPolicy.size())),
                r -> Thread.ofPlatform().daemon(true).name("armature-sim").unstarted(r));
        try {
            List<Future<Run>> futures = new ArrayList<>();
            for (Simulation.Settings s : perPolicy) {
                futures.add(pool.submit(() -> {
                    long start = System.nanoTime();
                    Simulation.Outcome o = new Simulation(s, workload.get()).run();
                    double wall = (System.nanoTime() - start) / 1e9;
                    progress.accept(String.format("armature: simulated %s: %d requests on %d workers in %.1f s of wall time",
                            s.router().policy(), o.result().completed(), s.workers(), wall));
                    return new Run(o, wall);
                }));
            }
            List<Run> out = new ArrayList<>();
            for (Future<Run> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) throw re;
                    throw new IllegalStateException(e.getCause());
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
