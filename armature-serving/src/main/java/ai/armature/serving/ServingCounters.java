package ai.armature.serving;

/**
 * Cumulative activity counters of one worker, beyond {@link ai.armature.protocol.EngineStats}: steps run,
 * preemptions, positions computed in prefill chunks (prompts, and prompt + generated tokens recomputed after a
 * preemption; prefix-cache hits are not computed),
 * tokens generated, and requests finished. For metrics and benchmarks.
 */
public record ServingCounters(long steps, long preemptions, long prefillTokensComputed, long generatedTokens, long finishedRequests) {
}
