package ai.armature.cli;

import ai.armature.router.bench.RouterBenchmark;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code armature bench router}: the KV indexer and decision path at fleet scale (see {@link RouterBenchmark}). */
@Command(name = "router", mixinStandardHelpOptions = true,
        description = "The router at fleet scale, on one thread: KV event ingestion (events/s), memory per indexed"
                + " (block, worker) entry (heap and off-heap), decision latency percentiles, and resync time of a worker after an event gap.")
final class RouterBenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--workers", defaultValue = "1000", description = "Workers. Default: ${DEFAULT-VALUE}.")
    int workers;
    @Option(names = "--blocks-per-worker", defaultValue = "10000", description = "Blocks each worker holds. Default: ${DEFAULT-VALUE}.")
    int blocksPerWorker;
    @Option(names = "--prompt-blocks", defaultValue = "32", description = "Blocks per routed prompt. Default: ${DEFAULT-VALUE}.")
    int promptBlocks;
    @Option(names = "--decisions", defaultValue = "200000", description = "Timed routing decisions. Default: ${DEFAULT-VALUE}.")
    int decisions;
    @Option(names = "--resync-blocks", defaultValue = "100000", description = "Blocks of the worker resynchronised after a gap. Default: ${DEFAULT-VALUE}.")
    int resyncBlocks;
    @Option(names = "--popular-share", defaultValue = "0.2", description = "Share of a worker's chains that are popular documents. Default: ${DEFAULT-VALUE}.")
    double popularShare;
    @Option(names = "--popular-docs", defaultValue = "1000", description = "Popular documents (32-block chains). Default: ${DEFAULT-VALUE}.")
    int popularDocs;
    @Option(names = "--seed", defaultValue = "1", description = "Seed. Default: ${DEFAULT-VALUE}.")
    long seed;
    @Option(names = "--json", description = "Print the figures as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (workers < 1 || blocksPerWorker < 32 || promptBlocks < 1 || decisions < 1 || resyncBlocks < 1 || popularDocs < 1) {
            throw new IllegalArgumentException("--workers, --prompt-blocks, --decisions, --resync-blocks and --popular-docs must be >= 1,"
                    + " --blocks-per-worker >= 32");
        }
        if (!(popularShare >= 0 && popularShare <= 1)) throw new IllegalArgumentException("--popular-share must be in [0, 1]");
        RouterBenchmark.Result r = new RouterBenchmark(new RouterBenchmark.Settings(workers, blocksPerWorker, promptBlocks, decisions,
                resyncBlocks, popularShare, popularDocs, seed)).run(line -> {
                    spec.commandLine().getErr().println("armature: " + line);
                    spec.commandLine().getErr().flush();
                });
        java.io.PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .writerWithDefaultPrettyPrinter().writeValueAsString(r));
        } else {
            out.printf("%-44s %14s %14s%n", "", "measured", "target");
            out.printf("%-44s %,14.0f %14s%n", "ingestion, events/s per core (CPU time)", r.ingestEventsPerSecond(), ">= 2,000,000");
            out.printf("%-44s %,14.0f %14s%n", "churn (removes + stores), events/s per core", r.churnEventsPerSecond(), "");
            out.printf("%-44s %14.1f %14s%n", "memory bytes per (block, worker) entry", r.memoryBytesPerEntry(), "<= 64");
            out.printf("%-44s %14.1f %14s%n", "  of which off the heap (index tables)", r.offHeapBytesPerEntry(), "");
            out.printf("%-44s %14.2f %14s%n", "decision p50, us (wall clock)", r.decisionP50Micros(), "");
            out.printf("%-44s %14.2f %14s%n", "decision p99, us (wall clock)", r.decisionP99Micros(), "<= 10");
            out.printf("%-44s %14.2f %14s%n", "decision p99.9, us (wall clock)", r.decisionP999Micros(), "");
            out.printf("%-44s %14.2f %14s%n", "decision p50, us (thread CPU time)", r.decisionCpuP50Micros(), "");
            out.printf("%-44s %14.2f %14s%n", "decision p99, us (thread CPU time)", r.decisionCpuP99Micros(), "<= 10");
            out.printf("%-44s %14.3f %14s%n", "resync of " + r.resyncBlocks() + " blocks after a gap, s", r.resyncSeconds(), "< 1");
            out.printf("(%d workers, %,d entries, %,d distinct blocks)%n", r.workers(), r.entries(), r.uniqueBlocks());
        }
        out.flush();
        return 0;
    }
}
