package ai.armature.router.policy;

/**
 * The cost of sending a request to a worker, the one formula of KV-aware routing (lower is better):
 * <pre>
 *   cost = prefillWeight * (prompt blocks not cached on the worker) + queueWeight * (its active prefill blocks) + its active decode blocks
 * </pre>
 * The first two terms are the prefill the worker must do before this request's first token (its own uncached blocks
 * plus the prompts queued ahead of it), the last the decode work it shares every step with (the KV its running
 * requests read). Blocks are counted in units of {@code unitTokens} tokens (16) whatever a worker's own block size,
 * so workers with different block sizes compare fairly (and the division by it changes no order, so a policy may
 * compare costs without it). A prefix-only cost would pile every request sharing a hot system prompt onto one worker;
 * the load terms are what spread them.
 *
 * <p>The cost is the request's own term plus the worker's {@link #loadTerm}, which does not depend on the request:
 * workers that hold none of a prompt differ only in it, so they can be kept ordered by it as their load changes
 * ({@link LoadTermOrder}) instead of being scanned per decision.
 *
 * @param prefillWeight weight of the request's own uncached prompt tokens
 * @param queueWeight   weight of the prompt tokens queued on the worker ahead of it
 */
public record Cost(double prefillWeight, double queueWeight) {

    public Cost {
        if (!(prefillWeight >= 0) || Double.isInfinite(prefillWeight)) {
            throw new IllegalArgumentException("--router-prefill-weight must be a number >= 0, got " + prefillWeight);
        }
        if (!(queueWeight >= 0) || Double.isInfinite(queueWeight)) {
            throw new IllegalArgumentException("--router-queue-weight must be a number >= 0, got " + queueWeight);
        }
    }

    /**
     * @param uncachedPromptTokens prompt tokens the worker would compute (prompt minus its cached prefix)
     * @param activePrefillTokens  tokens of requests routed to the worker that have not had their first token
     * @param activeContextTokens  context tokens of the worker's requests in flight
     */
    public double of(long uncachedPromptTokens, long activePrefillTokens, long activeContextTokens, int unitTokens) {
        return inTokens(uncachedPromptTokens, activePrefillTokens, activeContextTokens) / unitTokens;
    }

    /** The cost counted in tokens: {@link #of} without the division by the block unit (the same order, for the hot loop). */
    public double inTokens(long uncachedPromptTokens, long activePrefillTokens, long activeContextTokens) {
        return prefillWeight * uncachedPromptTokens + loadTerm(activePrefillTokens, activeContextTokens);
    }

    /** The part of the cost (in tokens) that is the worker's load alone, the same for every request. */
    public double loadTerm(long activePrefillTokens, long activeContextTokens) {
        return queueWeight * activePrefillTokens + activeContextTokens;
    }

    /**
     * Whether every cost of token counts below 2^31 is computed exactly in doubles: both weights are multiples of
     * 1/1024 of at most 1024, so each product and sum is an integer count of 1/1024 below 2^53. Then costs compare as
     * the real numbers do, so an order kept on {@link #loadTerm} ranks those workers exactly as their full costs would.
     */
    public boolean exact() {
        return exactWeight(prefillWeight) && exactWeight(queueWeight);
    }

    private static boolean exactWeight(double w) {
        double scaled = w * 1024;
        return w <= 1024 && scaled == Math.rint(scaled);
    }
}
