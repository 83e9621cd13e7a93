package ai.armature.router.policy;

/**
 * The cost of sending a request to a worker, the one formula of KV-aware routing (lower is better):
 * <pre>
 *   cost = prefillWeight * (prompt blocks not cached on the worker + its active prefill blocks) + its active decode blocks
 * </pre>
 * The first term is the prefill the worker must do before this request's first token (its own uncached blocks
 * plus the prompts queued ahead of it), the second the decode work it shares every step with (the KV its running
 * requests read). Blocks are counted in units of {@code unitTokens} tokens (16) whatever a worker's own block size,
 * so workers with different block sizes compare fairly (and the division by it changes no order, so a policy may
 * compare costs without it). A prefix-only cost would pile every request sharing a hot system prompt onto one worker;
 * the load terms are what spread them.
 */
public final class Cost {

    private Cost() {
    }

    /**
     * @param uncachedPromptTokens prompt tokens the worker would compute (prompt minus its cached prefix)
     * @param activePrefillTokens  tokens of requests routed to the worker that have not had their first token
     * @param activeContextTokens  context tokens of the worker's requests in flight
     */
    public static double of(double prefillWeight, long uncachedPromptTokens, long activePrefillTokens,
                            long activeContextTokens, int unitTokens) {
        return inTokens(prefillWeight, uncachedPromptTokens, activePrefillTokens, activeContextTokens) / unitTokens;
    }

    /** The cost counted in tokens: {@link #of} without the division by the block unit (the same order, for the hot loop). */
    public static double inTokens(double prefillWeight, long uncachedPromptTokens, long activePrefillTokens, long activeContextTokens) {
        return prefillWeight * (uncachedPromptTokens + activePrefillTokens) + activeContextTokens;
    }
}
