package ai.armature.frontend;

import ai.armature.protocol.EngineStats;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The one line an operator watches while the server is busy, as vLLM prints it: prompt and generation throughput
 * since the last line, requests running and waiting, KV cache use and the prefix-cache hit rate. The frontend counts
 * tokens as they stream through it (prompt tokens when a request's first output arrives, less the cached ones), so
 * the line covers every worker behind it, local or remote. Nothing is logged while the server is idle.
 */
final class ThroughputLog {

    private static final System.Logger LOG = System.getLogger(ThroughputLog.class.getName());

    private final Supplier<EngineStats> stats;
    private final LongSupplier clock;
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private long lastNanos;
    private long lastPrompt, lastGenerated, lastQueries, lastHits;

    /** @param clock nanoTime ({@link System#nanoTime()}, or a test's own) */
    ThroughputLog(Supplier<EngineStats> stats, LongSupplier clock) {
        this.stats = stats;
        this.clock = clock;
        this.lastNanos = clock.getAsLong();
    }

    /** Prompt tokens a request had computed (its prompt less the cached prefix), when its first output arrives. */
    void promptComputed(int tokens) {
        if (tokens > 0) promptTokens.addAndGet(tokens);
    }

    void generated(int tokens) {
        if (tokens > 0) generatedTokens.addAndGet(tokens);
    }

    /** Prompt tokens computed since the start. */
    long promptTokens() {
        return promptTokens.get();
    }

    /** Tokens generated since the start. */
    long generatedTokens() {
        return generatedTokens.get();
    }

    /** The line for the interval since the last call, or null when nothing happened and nothing is in flight. */
    synchronized String tick() {
        long now = clock.getAsLong();
        long prompt = promptTokens.get(), generated = generatedTokens.get();
        EngineStats s = stats.get();
        double seconds = Math.max(1e-9, (now - lastNanos) / 1e9);
        long dPrompt = prompt - lastPrompt, dGenerated = generated - lastGenerated;
        long dQueries = s.prefixCacheQueryTokens() - lastQueries, dHits = s.prefixCacheHitTokens() - lastHits;
        lastNanos = now;
        lastPrompt = prompt;
        lastGenerated = generated;
        lastQueries = s.prefixCacheQueryTokens();
        lastHits = s.prefixCacheHitTokens();
        if (dPrompt == 0 && dGenerated == 0 && s.runningRequests() == 0 && s.waitingRequests() == 0) return null;
        double kv = s.kvBlocksTotal() == 0 ? 0 : 100.0 * s.kvBlocksUsed() / s.kvBlocksTotal();
        String hitRate = dQueries > 0 ? String.format(Locale.ROOT, "%.1f%%", 100.0 * dHits / dQueries) : "-";
        return String.format(Locale.ROOT, "Avg prompt throughput: %.1f tokens/s, Avg generation throughput: %.1f tokens/s, "
                        + "Running: %d reqs, Waiting: %d reqs, KV cache usage: %.1f%%, Prefix cache hit rate: %s",
                dPrompt / seconds, dGenerated / seconds, s.runningRequests(), s.waitingRequests(), kv, hitRate);
    }

    /** Logs {@link #tick()} every {@code periodMillis} on a daemon thread until it is interrupted. */
    Thread start(long periodMillis) {
        return Thread.ofPlatform().daemon().name("armature-throughput-log").start(() -> {
            while (true) {
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
                String line = tick();
                if (line != null) LOG.log(System.Logger.Level.INFO, line);
            }
        });
    }
}
