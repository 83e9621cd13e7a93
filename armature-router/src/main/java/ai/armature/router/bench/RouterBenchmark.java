package ai.armature.router.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;
import ai.armature.router.Router;
import ai.armature.router.RouterConfig;
import ai.armature.router.WorkerEndpoint;
import ai.armature.router.WorkerRole;
import ai.armature.router.load.LoadBus;

/**
 * {@code armature bench router}: the router's indexer and decision path at fleet scale, on one thread.
 * <ol>
 *   <li>Ingestion: {@code workers} workers each publish {@code blocksPerWorker} BlockStored events (chains of 32
 *       blocks: a share of them copies of popular documents many workers hold, the rest the worker's own); the
 *       time spent in {@link Router#onKvEvents} gives events per second; then a churn phase of removals and stores
 *       on the full index.</li>
 *   <li>Memory: heap in use after garbage collection, before and after, plus the index's off-heap tables, per
 *       indexed (block, worker) entry; and what the index's own structures add up to.</li>
 *   <li>Decision latency: {@link Router#submit} (to a worker that answers at once) for prompts of {@code promptBlocks}
 *       blocks (a third popular documents, a third one worker's own, a third never seen), each call timed in wall
 *       clock and in the thread's CPU time (which leaves out the time other processes of a busy machine took).</li>
 *   <li>Resync: a worker holding {@code resyncBlocks} blocks skips an event; the time from that event to its
 *       entries rebuilt from a snapshot (half of it new blocks) and the buffered events replayed.</li>
 * </ol>
 */
public final class RouterBenchmark {

    /** The benchmark's knobs. */
    public record Settings(int workers, int blocksPerWorker, int promptBlocks, int decisions, int resyncBlocks, double popularShare,
                           int popularDocs, long seed) {
    }

    /** The figures. */
    public record Result(int workers, long entries, long uniqueBlocks, double ingestEventsPerSecond, double churnEventsPerSecond,
                         double memoryBytesPerEntry, double heapBytesPerEntry, double offHeapBytesPerEntry, double indexBytesPerEntry, double decisionP50Micros, double decisionP90Micros,
                         double decisionP99Micros, double decisionP999Micros, double decisionMaxMicros, double decisionCpuP50Micros,
                         double decisionCpuP99Micros, double decisionCpuP999Micros, double resyncSeconds, int resyncBlocks) {
    }

    private static final int CHAIN = 32;
    private static final int BLOCK = 16;
    private static final String MODEL = "bench";

    private final Settings s;
    private final BlockHasher hasher = new BlockHasher(MODEL);
    private final SplittableRandom rnd;

    public RouterBenchmark(Settings settings) {
        this.s = settings;
        this.rnd = new SplittableRandom(settings.seed());
    }

    /** Runs every phase; {@code progress} gets a line per phase. */
    public Result run(java.util.function.Consumer<String> progress) {
        Router router = new Router(RouterConfig.defaults().withRouterId("bench").withSeed(s.seed()), LoadBus.NONE, System::nanoTime);
        long heapBefore = usedHeap();
        long offHeapBefore = router.indexOffHeapBytes();
        for (int w = 0; w < s.workers(); w++) router.addWorker(endpoint("w" + w, null));

        // Popular documents: the same 32-block chains on many workers.
        int[][] popular = new int[s.popularDocs()][];
        for (int d = 0; d < popular.length; d++) popular[d] = tokens(1_000_000L + d, CHAIN * BLOCK);
        long[][] popularHashes = new long[popular.length][];
        for (int d = 0; d < popular.length; d++) popularHashes[d] = hasher.hashFullBlocks(null, popular[d], popular[d].length, BLOCK);

        int chains = s.blocksPerWorker() / CHAIN;
        long ingestNanos = 0, ingested = 0;
        long[][] ownFirstDoc = new long[s.workers()][];
        for (int w = 0; w < s.workers(); w++) {
            List<KvEvent> events = new ArrayList<>(chains * CHAIN);
            long id = 1;
            Set<Integer> picked = new HashSet<>();
            for (int c = 0; c < chains; c++) {
                long[] hashes;
                if (rnd.nextDouble() < s.popularShare() && picked.size() < popular.length) {
                    int d;
                    do {
                        d = rnd.nextInt(popular.length);
                    } while (!picked.add(d)); // a worker holds each popular document once
                    hashes = popularHashes[d];
                } else {
                    long doc = ((long) w << 20) + c;
                    hashes = chainOf(doc);
                    if (c == 0) ownFirstDoc[w] = new long[] {doc};
                }
                for (int b = 0; b < hashes.length; b++) {
                    events.add(new KvEvent.BlockStored(id++, hashes[b], b == 0 ? hasher.rootHash(null) : hashes[b - 1], 0, new int[0]));
                }
            }
            long t0 = cpuNanos();
            router.onKvEvents("w" + w, events);
            ingestNanos += cpuNanos() - t0;
            ingested += events.size();
        }
        double ingestRate = ingested / (ingestNanos / 1e9);
        long entries = router.routerStats().indexedEntries();
        progress.accept(String.format("ingest: %,d BlockStored events from %d workers in %.2f s of CPU: %.2f M events/s; %,d entries, %,d distinct blocks",
                ingested, s.workers(), ingestNanos / 1e9, ingestRate / 1e6, entries, router.routerStats().indexedUniqueBlocks()));

        long heapAfter = usedHeap();
        long offHeap = router.indexOffHeapBytes() - offHeapBefore;
        double heapPerEntry = (double) (heapAfter - heapBefore) / entries;
        double offHeapPerEntry = (double) offHeap / entries;
        double memoryPerEntry = heapPerEntry + offHeapPerEntry;
        double indexPerEntry = (double) router.indexFootprintBytes() / entries;
        progress.accept(String.format("memory: %.1f bytes per (block, worker) entry: %.1f of heap in use after GC (%,d MB) and %.1f off the heap"
                + " (%,d MB of index tables%s); the index's own structures %.1f bytes per entry",
                memoryPerEntry, heapPerEntry, (heapAfter - heapBefore) >> 20, offHeapPerEntry, offHeap >> 20,
                ai.armature.protocol.memory.LargePages.hugePages() ? ", on transparent huge pages" : ", on ordinary pages", indexPerEntry));

        // Churn: each worker evicts a chain tail and stores a new one, on the full index.
        List<KvEvent>[] churn = churnEvents(chains);
        long churnNanos = 0, churned = 0;
        for (int w = 0; w < s.workers(); w++) {
            long t0 = cpuNanos();
            router.onKvEvents("w" + w, churn[w]);
            churnNanos += cpuNanos() - t0;
            churned += churn[w].size();
        }
        double churnRate = churned / (churnNanos / 1e9);
        progress.accept(String.format("churn: %,d removals and stores in %.2f s of CPU: %.2f M events/s", churned, churnNanos / 1e9, churnRate / 1e6));

        double[] lat = decisions(router, popular, ownFirstDoc, progress);
        progress.accept(String.format("decision: %,d submits of %d-block prompts over %d workers: wall clock p50 %.2f us, p90 %.2f us,"
                + " p99 %.2f us, p99.9 %.2f us, max %.1f us; CPU time p50 %.2f us, p99 %.2f us, p99.9 %.2f us",
                s.decisions(), s.promptBlocks(), s.workers(), lat[0], lat[1], lat[2], lat[3], lat[4], lat[5], lat[6], lat[7]));

        double resync = resync(router);
        progress.accept(String.format("resync: a worker holding %,d blocks rebuilt from a snapshot after a gap in %.3f s", s.resyncBlocks(), resync));
        router.close();
        return new Result(s.workers(), entries, router.routerStats().indexedUniqueBlocks(), ingestRate, churnRate, memoryPerEntry, heapPerEntry, offHeapPerEntry, indexPerEntry,
                lat[0], lat[1], lat[2], lat[3], lat[4], lat[5], lat[6], lat[7], resync, s.resyncBlocks());
    }

    private long[] chainOf(long doc) {
        int[] t = tokens(doc, CHAIN * BLOCK);
        return hasher.hashFullBlocks(null, t, t.length, BLOCK);
    }

    @SuppressWarnings("unchecked")
    private List<KvEvent>[] churnEvents(int chains) {
        List<KvEvent>[] out = new List[s.workers()];
        for (int w = 0; w < s.workers(); w++) {
            List<KvEvent> events = new ArrayList<>();
            long id = (long) chains * CHAIN + 1;
            for (int k = 0; k < 2; k++) {
                long doc = ((long) w << 20) + (1 << 19) + k;
                long[] fresh = chainOf(doc);
                long[] old = chainOf(((long) w << 20) + 1 + k);
                for (int b = CHAIN - 1; b >= CHAIN / 2; b--) events.add(new KvEvent.BlockRemoved(id++, old[b]));
                for (int b = 0; b < CHAIN; b++) events.add(new KvEvent.BlockStored(id++, fresh[b], 0, 0, new int[0]));
            }
            out[w] = events;
        }
        return out;
    }

    private double[] decisions(Router router, int[][] popular, long[][] ownFirstDoc, java.util.function.Consumer<String> progress) {
        int n = s.promptBlocks() * BLOCK + 1;
        int[][] prompts = new int[3000][];
        for (int i = 0; i < prompts.length; i++) {
            int[] p;
            switch (i % 3) {
                case 0 -> p = Arrays.copyOf(popular[rnd.nextInt(popular.length)], n);
                case 1 -> {
                    int w = rnd.nextInt(s.workers());
                    long doc = ownFirstDoc[w] != null ? ownFirstDoc[w][0] : ((long) w << 20);
                    p = Arrays.copyOf(tokens(doc, CHAIN * BLOCK), n);
                }
                default -> p = tokens(7_000_000_000L + i, n);
            }
            if (p.length < n) p = Arrays.copyOf(p, n);
            p[n - 1] = 5;
            prompts[i] = p;
        }
        int warm = Math.min(20_000, s.decisions());
        for (int i = 0; i < warm; i++) routeOnce(router, prompts[i % prompts.length], i);
        long[] nanos = new long[s.decisions()];
        long[] cpu = new long[s.decisions()];
        // What reading the thread's CPU clock itself costs, subtracted from each CPU-time sample.
        long[] clockCost = new long[1001];
        for (int i = 0; i < clockCost.length; i++) {
            long a = cpuNanos();
            clockCost[i] = cpuNanos() - a;
        }
        Arrays.sort(clockCost);
        long clock = clockCost[clockCost.length / 2];
        long[][] cpuByKind = new long[3][(nanos.length + 2) / 3];
        int[] ofKind = new int[3];
        for (int i = 0; i < nanos.length; i++) {
            GenerateRequest q = request(prompts[i % prompts.length], warm + i);
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            GenerationStream stream = router.submit(q);
            long t1 = System.nanoTime();
            long c1 = cpuNanos();
            nanos[i] = t1 - t0;
            cpu[i] = Math.max(0, c1 - c0 - clock);
            int kind = (i % prompts.length) % 3;
            cpuByKind[kind][ofKind[kind]++] = cpu[i];
            stream.close();
        }
        Arrays.sort(nanos);
        Arrays.sort(cpu);
        StringBuilder kinds = new StringBuilder("decision CPU time by prompt kind:");
        String[] names = {"popular document", "one worker's own", "never seen"};
        for (int k = 0; k < 3; k++) {
            long[] x = Arrays.copyOf(cpuByKind[k], ofKind[k]);
            Arrays.sort(x);
            kinds.append(String.format(" %s p50 %.2f us, p99 %.2f us;", names[k], pct(x, 50), pct(x, 99)));
        }
        progress.accept(kinds.substring(0, kinds.length() - 1));
        return new double[] {pct(nanos, 50), pct(nanos, 90), pct(nanos, 99), pct(nanos, 99.9), nanos[nanos.length - 1] / 1e3,
                pct(cpu, 50), pct(cpu, 99), pct(cpu, 99.9)};
    }

    private static double pct(long[] sorted, double p) {
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1e3;
    }

    private void routeOnce(Router router, int[] p, int i) {
        router.submit(request(p, i)).close();
    }

    private static GenerateRequest request(int[] p, long i) {
        return new GenerateRequest("q" + i, p, SamplingParams.GREEDY, StopConditions.maxTokens(1));
    }

    private double resync(Router router) {
        int n = s.resyncBlocks();
        Set<Long> after = new HashSet<>();
        List<KvEvent> events = new ArrayList<>(n);
        long[] held = new long[n];
        for (int i = 0; i < n; i++) {
            held[i] = rnd.nextLong();
            events.add(new KvEvent.BlockStored(i + 1, held[i], 0, 0, new int[0]));
            // Half the blocks survive the gap; the rest were replaced by blocks the router never heard of.
            after.add(i % 2 == 0 ? held[i] : rnd.nextLong());
        }
        long last = n + 1_000;
        KvCacheSnapshot snapshot = new KvCacheSnapshot(last, Map.of(KvTier.DEVICE, after));
        router.addWorker(endpoint("resync", () -> CompletableFuture.completedFuture(snapshot)));
        router.onKvEvents("resync", events);
        long t0 = System.nanoTime();
        router.onKvEvent("resync", new KvEvent.BlockStored(last + 1, rnd.nextLong(), 0, 0, new int[0]));
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (router.resyncing("resync")) throw new IllegalStateException("the resync did not complete");
        return seconds;
    }

    private int[] tokens(long doc, int n) {
        int[] t = new int[n];
        long x = doc * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < n; i++) {
            x += 0x9E3779B97F4A7C15L;
            long z = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
            t[i] = (int) ((z ^ (z >>> 31)) & 0xFFFF);
        }
        return t;
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** This thread's CPU time: rates are per core of CPU actually used, whatever else the machine runs. */
    private static long cpuNanos() {
        return THREADS.getCurrentThreadCpuTime();
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static WorkerEndpoint endpoint(String id, ai.armature.router.KvSnapshotSource snapshots) {
        return new WorkerEndpoint(id, BLOCK, MODEL, true, WorkerRole.AGGREGATED, NullEngine.INSTANCE, snapshots);
    }

    /** A worker that is never asked for anything but health (decisions are timed without submitting). */
    private enum NullEngine implements GenerationEngine {
        INSTANCE;

        @Override
        public GenerationStream submit(GenerateRequest request) {
            return new GenerationStream() {
                public String requestId() {
                    return request.requestId();
                }

                public GenerateOutput next() {
                    return new GenerateOutput(request.requestId(), new int[0], null, FinishReason.STOP, new Usage(0, 0, 0), null);
                }

                public void close() {
                }
            };
        }

        @Override
        public void cancel(String requestId) {
        }

        @Override
        public EngineStats stats() {
            return new EngineStats(0, 0, 0, 0, 0, 0, 0);
        }

        @Override
        public int maxContextTokens() {
            return Integer.MAX_VALUE;
        }

        @Override
        public void close() {
        }
    }
}
