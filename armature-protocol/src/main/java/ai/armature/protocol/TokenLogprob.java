package ai.armature.protocol;

/**
 * The log-probability of one token under the model's (temperature-free) distribution, with the top alternatives at
 * that position, most likely first. {@code topTokenIds} and {@code topLogprobs} have equal length. {@code rank} is
 * the token's place in the whole vocabulary by probability (1: the most likely), or -1 where it was not computed (it
 * is for prompt tokens). A logprob may be negative infinity (a token the model rules out).
 */
public record TokenLogprob(int tokenId, float logprob, int[] topTokenIds, float[] topLogprobs, int rank) {

    public TokenLogprob(int tokenId, float logprob, int[] topTokenIds, float[] topLogprobs) {
        this(tokenId, logprob, topTokenIds, topLogprobs, -1);
    }
}
