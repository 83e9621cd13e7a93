package ai.armature.serving.runner;

/**
 * The tokens a constrained sequence may choose next (structured output), computed while the step's forward pass
 * runs: {@link #await()} blocks until the mask is ready, so a runner calls it after its forward pass, right
 * before sampling. A runner must choose only a token whose bit is set; when {@link #count()} is 0 no token of
 * the vocabulary can continue the output and the runner returns token id -1 for the sequence.
 */
public interface AllowedTokens {

    /** The mask: bit {@code id & 63} of word {@code id >>> 6} is set when token {@code id} is allowed. Read-only. */
    long[] await();

    /** How many tokens the mask allows; valid after {@link #await()}. */
    int count();
}
