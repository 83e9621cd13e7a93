package ai.armature.cli;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One concurrency level of {@code bench serving}: submits that many requests at once and reads each on its own
 * virtual thread. The run splits as llama-batched-bench's does: the prompt phase lasts until every request has its
 * first token, the decode phase (its S_TG) is the rest, and only tokens that arrive in the decode phase count
 * towards the decode rate (early requests decode while later ones still prefill). Every figure comes from this
 * level's own requests, so an unmeasured warm-up run through the same class cannot leak into a measured one.
 */
final class ConcurrencyLevelRun {

    /**
     * One level's figures. {@code requests} and {@code generatedTokens} count what the level's streams delivered
     * (requests that finished without error, tokens received). {@code decodeCpuSecondsPerToken} is the process's CPU time (kernel threads, the
     * scheduler, JIT compiler threads, GC) over the decode phase per decode token: unlike the rate, it hardly moves
     * when other processes share the cores. {@code jitCompileSeconds} is the JIT compilers' time during the level:
     * well above zero means part of the level ran on code still being compiled.
     */
    record Level(int concurrency, int requests, long generatedTokens, long decodeTokens, double decodeTokensPerSecond,
                 double promptTokensPerSecond, double meanTtftSeconds, double decodeCpuSecondsPerToken, double jitCompileSeconds) {
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();

    private ConcurrencyLevelRun() {
    }

    /**
     * Runs {@code concurrency} greedy requests of {@code promptTokens} random prompt tokens and {@code outputTokens}
     * generated ones (end of generation ignored), ids {@code idPrefix-N}; throws if one fails.
     */
    static Level run(GenerationEngine engine, int concurrency, int promptTokens, int outputTokens, SplittableRandom random,
                     int vocab, String idPrefix, AtomicLong ids) throws InterruptedException {
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger finished = new AtomicInteger();
        long[] firstToken = new long[concurrency];
        long[] cpuAtFirstToken = new long[concurrency];
        long[] done = new long[concurrency];
        int[] generated = new int[concurrency];
        long[][] tokenTimes = new long[concurrency][outputTokens];
        Thread[] threads = new Thread[concurrency];
        long jitStart = jitMillis();
        long start = System.nanoTime();
        for (int i = 0; i < concurrency; i++) {
            int idx = i;
            GenerateRequest request = new GenerateRequest(idPrefix + "-" + ids.incrementAndGet(), random.ints(promptTokens, 0, vocab).toArray(),
                    SamplingParams.GREEDY, new StopConditions(outputTokens, new int[0], true, false));
            GenerationStream stream = engine.submit(request);
            threads[i] = Thread.ofVirtual().start(() -> {
                try (stream) {
                    GenerateOutput out;
                    while ((out = stream.next()) != null) {
                        long now = System.nanoTime();
                        if (out.tokenIds().length > 0 && firstToken[idx] == 0) {
                            firstToken[idx] = now;
                            cpuAtFirstToken[idx] = OS.getProcessCpuTime();
                        }
                        for (int t = 0; t < out.tokenIds().length && generated[idx] < outputTokens; t++) {
                            tokenTimes[idx][generated[idx]++] = now;
                        }
                        if (out.finished()) {
                            if (out.finishReason() == FinishReason.ERROR) failures.add(out.error());
                            else finished.incrementAndGet();
                            break;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                done[idx] = System.nanoTime();
            });
        }
        for (Thread t : threads) t.join();
        long cpuEnd = OS.getProcessCpuTime();
        long jitEnd = jitMillis();
        if (!failures.isEmpty()) throw new IllegalStateException("a benchmark request failed: " + failures.peek());
        long lastFirst = 0, cpuAtLastFirst = 0, end = 0, ttftSum = 0, generatedTotal = 0;
        for (int i = 0; i < concurrency; i++) {
            if (firstToken[i] == 0) throw new IllegalStateException("benchmark request " + i + " produced no token");
            if (firstToken[i] > lastFirst) {
                lastFirst = firstToken[i];
                cpuAtLastFirst = cpuAtFirstToken[i];
            }
            end = Math.max(end, done[i]);
            ttftSum += firstToken[i] - start;
            generatedTotal += generated[i];
        }
        long decoded = 0;
        for (int i = 0; i < concurrency; i++) {
            for (int t = 0; t < generated[i]; t++) {
                if (tokenTimes[i][t] > lastFirst) decoded++;
            }
        }
        if (decoded == 0) throw new IllegalStateException("no token arrived after the prompt phase; use more --output-tokens");
        return new Level(concurrency, finished.get(), generatedTotal, decoded, decoded / ((end - lastFirst) / 1e9),
                (double) concurrency * promptTokens / ((lastFirst - start) / 1e9), ttftSum / 1e9 / concurrency,
                (cpuEnd - cpuAtLastFirst) / 1e9 / decoded,
                jitStart < 0 ? Double.NaN : (jitEnd - jitStart) / 1e3);
    }

    private static long jitMillis() {
        return JIT != null && JIT.isCompilationTimeMonitoringSupported() ? JIT.getTotalCompilationTime() : -1;
    }
}
