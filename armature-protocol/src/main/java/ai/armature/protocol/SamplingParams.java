package ai.armature.protocol;

/**
 * How the next token is chosen from the logits. A temperature of 0 (below 1e-5) means greedy decoding (every other knob is
 * then irrelevant). {@code topK <= 0}, {@code topP >= 1} and {@code minP <= 0} disable those filters; penalties
 * of 0 (presence, frequency) or 1 (repetition) disable those. {@code seed} makes sampling reproducible: the same
 * request with the same seed yields the same tokens, alone or inside a batch. {@code logprobs} is the number of
 * top alternatives to report per generated token, or -1 for no logprobs at all (0 reports only the chosen one).
 */
public record SamplingParams(
        double temperature,
        double topP,
        int topK,
        double minP,
        double repetitionPenalty,
        double presencePenalty,
        double frequencyPenalty,
        long seed,
        int logprobs) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, 0, 1, 0, 0, 0, -1);

    public SamplingParams {
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        if (!(repetitionPenalty > 0)) throw new IllegalArgumentException("repetition_penalty must be > 0, got " + repetitionPenalty);
        if (logprobs < -1) throw new IllegalArgumentException("logprobs must be >= -1, got " + logprobs);
    }

    /** Temperatures below 1e-5 are greedy too: dividing logits by them would overflow to infinity. */
    public boolean greedy() {
        return temperature < 1e-5;
    }

    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty, newSeed, logprobs);
    }
}
