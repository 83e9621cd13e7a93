package ai.armature.protocol;

/**
 * A snapshot of a worker's (or a set of workers') load and KV cache: requests waiting and running, KV blocks
 * total / used by running sequences / cached but free, prefix-cache lookups and hits counted in tokens, and the
 * prompt tokens accepted but not computed yet ({@code pendingPrefillTokens}: waiting prompts, the rest of prompts in
 * chunked prefill, and recomputation after preemption) and the id of the last KV event the worker published
 * ({@code lastKvEventId}, 0 if none or not reported). A router corrects its own load bookkeeping with these, and
 * notices KV events lost at the tail of a worker's stream (no later event would reveal the gap) when the reported
 * id stays ahead of the events it received.
 */
public record EngineStats(
        int waitingRequests,
        int runningRequests,
        long kvBlocksTotal,
        long kvBlocksUsed,
        long kvBlocksCached,
        long prefixCacheQueryTokens,
        long prefixCacheHitTokens,
        long pendingPrefillTokens,
        long lastKvEventId) {

    /** Stats of an engine that reports neither pending prefill tokens nor KV event ids (both 0). */
    public EngineStats(int waitingRequests, int runningRequests, long kvBlocksTotal, long kvBlocksUsed, long kvBlocksCached,
                       long prefixCacheQueryTokens, long prefixCacheHitTokens) {
        this(waitingRequests, runningRequests, kvBlocksTotal, kvBlocksUsed, kvBlocksCached, prefixCacheQueryTokens,
                prefixCacheHitTokens, 0, 0);
    }

    /** The sum over several workers (the KV event id, being per worker, is not summed: 0). */
    public static EngineStats sum(Iterable<EngineStats> parts) {
        int w = 0, r = 0;
        long t = 0, u = 0, c = 0, q = 0, h = 0, p = 0;
        for (EngineStats s : parts) {
            w += s.waitingRequests; r += s.runningRequests; t += s.kvBlocksTotal; u += s.kvBlocksUsed;
            c += s.kvBlocksCached; q += s.prefixCacheQueryTokens; h += s.prefixCacheHitTokens; p += s.pendingPrefillTokens;
        }
        return new EngineStats(w, r, t, u, c, q, h, p, 0);
    }
}
