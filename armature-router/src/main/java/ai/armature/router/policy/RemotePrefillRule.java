package ai.armature.router.policy;

/**
 * When a request's prefill runs on a prefill worker instead of the decode worker the router chose for it
 * (conditional disaggregation): only when the prompt tokens that decode worker would compute (the prompt minus
 * its cached prefix) exceed {@code maxLocalPrefillTokens} ({@code --max-local-prefill-tokens}), and the chosen
 * prefill worker's queue, the prompt tokens routed to it that it has not prefilled yet, is below
 * {@code maxPrefillQueueTokens} ({@code --max-prefill-queue-tokens}). A short or mostly cached prompt costs the
 * decode worker little and would pay a transfer for nothing; a prefill pool that is already behind would make
 * the request wait longer than computing it where it is.
 */
public record RemotePrefillRule(int maxLocalPrefillTokens, long maxPrefillQueueTokens) {

    /**
     * Chosen with {@code armature simulate} (8 simulated H100 workers, Llama 3 8B): on the Mooncake conversation trace,
     * whose prompts are mostly cached prefixes plus a few thousand new tokens, 2 prefill + 6 decode workers had TTFT p50
     * 423 ms with 4096 against 592 ms with 512 (E2E p50 5.87 s vs 6.00, ITL and TTFT p99 within 1.5%); 8,192-token
     * prompts still go to the prefill pool, where disaggregation wins (see the README).
     */
    public static final int DEFAULT_MAX_LOCAL_PREFILL_TOKENS = 4096;
    public static final long DEFAULT_MAX_PREFILL_QUEUE_TOKENS = 32768;

    /** Why a request prefilled where it did. */
    public enum Choice {
        /** On a prefill worker. */
        REMOTE,
        /** Locally: its uncached prompt tokens are at most {@code maxLocalPrefillTokens}. */
        LOCAL_SHORT,
        /** Locally: the prefill worker's queue reached {@code maxPrefillQueueTokens}. */
        LOCAL_PREFILL_QUEUE_FULL,
        /** Locally: no prefill worker is available. */
        LOCAL_NO_PREFILL_WORKER,
        /** Locally: the chosen worker is an aggregated one (role both), which always prefills itself. */
        LOCAL_NOT_DECODE_WORKER,
        /** On a prefill worker, whole (prefill and decode): no decode or aggregated worker is available. */
        LOCAL_NO_DECODE_WORKER
    }

    public RemotePrefillRule {
        if (maxLocalPrefillTokens < 0) throw new IllegalArgumentException("--max-local-prefill-tokens must be >= 0, got " + maxLocalPrefillTokens);
        if (maxPrefillQueueTokens < 1) throw new IllegalArgumentException("--max-prefill-queue-tokens must be >= 1, got " + maxPrefillQueueTokens);
    }

    public static RemotePrefillRule defaults() {
        return new RemotePrefillRule(DEFAULT_MAX_LOCAL_PREFILL_TOKENS, DEFAULT_MAX_PREFILL_QUEUE_TOKENS);
    }

    /** Whether computing {@code uncachedTokens} prompt tokens elsewhere is worth a transfer. */
    public boolean worthRemote(long uncachedTokens) {
        return uncachedTokens > maxLocalPrefillTokens;
    }

    /** Whether a prefill worker with {@code queuedPrefillTokens} still to prefill takes one more. */
    public boolean queueAdmits(long queuedPrefillTokens) {
        return queuedPrefillTokens < maxPrefillQueueTokens;
    }
}
