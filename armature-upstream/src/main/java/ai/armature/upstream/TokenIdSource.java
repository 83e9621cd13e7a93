package ai.armature.upstream;

/**
 * Where an upstream's generated token ids come from, found when the adapter first reaches the upstream:
 * <ul>
 *   <li>{@link #TOKEN_IDS}: the engine returns them (vLLM/SGLang {@code token_ids}, llama-server {@code tokens});</li>
 *   <li>{@link #LOGPROB_IDS}: they come with each token's logprob entry (llama-server forks without
 *       {@code return_tokens}; the engine then computes one top probability per token, a small cost of its own);</li>
 *   <li>{@link #TEXT}: only text comes back; each streamed piece is re-tokenized with the served tokenizer. The text
 *       reaches the client unchanged, but the ids (and the completion token count) can differ from the engine's
 *       where a piece spans several tokens, logprobs cannot be given, and a migrated request resumes from the
 *       re-tokenized ids.</li>
 * </ul>
 */
public enum TokenIdSource {
    TOKEN_IDS, LOGPROB_IDS, TEXT
}
