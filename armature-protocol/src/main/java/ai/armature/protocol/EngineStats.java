package ai.armature.protocol;

/**
 * A snapshot of a worker's (or a set of workers') load and KV cache: requests waiting and running, KV blocks
 * total / used by running sequences / cached but free, and prefix-cache lookups and hits counted in tokens.
 */
public record EngineStats(
        int waitingRequests,
        int runningRequests,
        long kvBlocksTotal,
        long kvBlocksUsed,
        long kvBlocksCached,
        long prefixCacheQueryTokens,
        long prefixCacheHitTokens) {

    public static EngineStats sum(Iterable<EngineStats> parts) {
        int w = 0, r = 0;
        long t = 0, u = 0, c = 0, q = 0, h = 0;
        for (EngineStats s : parts) {
            w += s.waitingRequests; r += s.runningRequests; t += s.kvBlocksTotal; u += s.kvBlocksUsed;
            c += s.kvBlocksCached; q += s.prefixCacheQueryTokens; h += s.prefixCacheHitTokens;
        }
        return new EngineStats(w, r, t, u, c, q, h);
    }
}
