package ai.armature.protocol;

/**
 * The log-probability of one generated token under the model's (temperature-free) distribution, with the top
 * alternatives at that position, most likely first. {@code topTokenIds} and {@code topLogprobs} have equal length.
 */
public record TokenLogprob(int tokenId, float logprob, int[] topTokenIds, float[] topLogprobs) {
}
