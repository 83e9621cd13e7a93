package ai.armature.upstream;

/**
 * What the adapter learned from an upstream when it reached it: the model name the upstream serves (sent as
 * {@code model}), the context length requests are checked against, how many tokens its KV cache holds (0: not
 * reported), and where generated token ids come from.
 */
public record UpstreamInfo(String upstreamModel, int contextLength, long kvCapacityTokens, TokenIdSource tokenIds) {
}
