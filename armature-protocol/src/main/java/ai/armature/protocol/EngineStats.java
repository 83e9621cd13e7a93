package ai.armature.protocol;

/**
 * A snapshot of a worker's (or a set of workers') load and KV cache: requests waiting and running, KV blocks
 * total / used by running sequences / cached but free, prefix-cache lookups and hits counted in tokens, and the
 * prompt tokens accepted but not computed yet ({@code pendingPrefillTokens}: waiting prompts, the rest of prompts in
 * chunked prefill, and recomputation after preemption) and the id of the last KV event the worker published
 * ({@code lastKvEventId}, 0 if none or not reported). A router corrects its own load bookkeeping with these, and
 * notices KV events lost at the tail of a worker's stream (no later event would reveal the gap) when the reported
 * id stays ahead of the events it received.
 *
 * <p>Busy time, cumulative, on the runner's clock (virtual time in a simulation): {@code busySeconds} in all model
 * steps, {@code promptStepSeconds} in the steps that computed prompt tokens (decodes riding along included), and
 * {@code promptTokensComputed}, the prompt positions those steps computed (prefix-cache hits are not computed;
 * recomputation after a preemption is). The planner fits its prefill speed to these rather than to the time to
 * first token, which also holds the queueing. All 0: not reported (engines that do not time their steps).
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
        long lastKvEventId,
        double busySeconds,
        double promptStepSeconds,
        long promptTokensComputed) {

    /** Stats without busy time (not reported: 0). */
    public EngineStats(int waitingRequests, int runningRequests, long kvBlocksTotal, long kvBlocksUsed, long kvBlocksCached,
                       long prefixCacheQueryTokens, long prefixCacheHitTokens, long pendingPrefillTokens, long lastKvEventId) {
        this(waitingRequests, runningRequests, kvBlocksTotal, kvBlocksUsed, kvBlocksCached, prefixCacheQueryTokens,
                prefixCacheHitTokens, pendingPrefillTokens, lastKvEventId, 0, 0, 0);
    }

    /** These stats with {@code waiting} requests waiting instead. */
    public EngineStats withWaitingRequests(int waiting) {
        return new EngineStats(waiting, runningRequests, kvBlocksTotal, kvBlocksUsed, kvBlocksCached, prefixCacheQueryTokens,
                prefixCacheHitTokens, pendingPrefillTokens, lastKvEventId, busySeconds, promptStepSeconds, promptTokensComputed);
    }

    /** Stats of an engine that reports neither pending prefill tokens nor KV event ids (both 0). */
    public EngineStats(int waitingRequests, int runningRequests, long kvBlocksTotal, long kvBlocksUsed, long kvBlocksCached,
                       long prefixCacheQueryTokens, long prefixCacheHitTokens) {
        this(waitingRequests, runningRequests, kvBlocksTotal, kvBlocksUsed, kvBlocksCached, prefixCacheQueryTokens,
                prefixCacheHitTokens, 0, 0);
    }

    /** The sum over several workers (the KV event id, being per worker, is not summed: 0). */
    public static EngineStats sum(Iterable<EngineStats> parts) {
        int w = 0, r = 0;
        long t = 0, u = 0, c = 0, q = 0, h = 0, p = 0, computed = 0;
        double busy = 0, prompt = 0;
        for (EngineStats s : parts) {
            w += s.waitingRequests; r += s.runningRequests; t += s.kvBlocksTotal; u += s.kvBlocksUsed;
            c += s.kvBlocksCached; q += s.prefixCacheQueryTokens; h += s.prefixCacheHitTokens; p += s.pendingPrefillTokens;
            busy += s.busySeconds; prompt += s.promptStepSeconds; computed += s.promptTokensComputed;
        }
        return new EngineStats(w, r, t, u, c, q, h, p, 0, busy, prompt, computed);
    }
}
