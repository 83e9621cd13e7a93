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

    /** One run to do: its settings and how its pool is sized. */
    public record Job(Simulation.Settings settings, Simulation.Plan plan) {
    }

    private Simulator() {
    }

    public static List<Run> runAll(List<Simulation.Settings> perPolicy, Supplier<SimWorkload> workload, int threads,
                                   java.util.function.Consumer<String> progress) throws InterruptedException {
        List<Job> jobs = new ArrayList<>();
        for (Simulation.Settings s : perPolicy) jobs.add(new Job(s, Simulation.Plan.fixed(ai.armature.planner.PlannerConfig.defaults())));
        return run(jobs, workload, threads, progress);
    }

    /** Runs every job over a fresh copy of the workload, {@code threads} at a time; results in the jobs' order. */
    public static List<Run> run(List<Job> jobs, Supplier<SimWorkload> workload, int threads,
                                java.util.function.Consumer<String> progress) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, jobs.size())),
                r -> Thread.ofPlatform().daemon(true).name("armature-sim").unstarted(r));
        try {
            List<Future<Run>> futures = new ArrayList<>();
            for (Job job : jobs) {
                Simulation.Settings s = job.settings();
                futures.add(pool.submit(() -> {
                    long start = System.nanoTime();
                    Simulation.Outcome o = new Simulation(s, workload.get(), job.plan()).run();
                    double wall = (System.nanoTime() - start) / 1e9;
                    progress.accept(String.format("armature: simulated %s/%s: %d requests, %d workers at peak, in %.1f s of wall time",
                            s.router().policy(), job.plan().name(), o.result().completed(), o.result().peakWorkers(), wall));
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
