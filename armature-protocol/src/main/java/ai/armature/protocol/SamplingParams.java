package ai.armature.protocol;

import java.util.Objects;

/**
 * How the next token is chosen from the logits. A temperature of 0 (below 1e-5) means greedy decoding (every other knob is
 * then irrelevant). {@code topK <= 0}, {@code topP >= 1} and {@code minP <= 0} disable those filters; penalties
 * of 0 (presence, frequency) or 1 (repetition) disable those. {@code seed} makes sampling reproducible: the same
 * request with the same seed yields the same tokens, alone or inside a batch. {@code logprobs} is the number of
 * top alternatives to report per generated token, or -1 for no logprobs at all (0 reports only the chosen one);
 * {@code promptLogprobs} the same for every prompt token (vLLM's {@code prompt_logprobs}: the worker then computes
 * logits at every prompt position and does not reuse cached prefix blocks for the request). {@code logitBias} is
 * added to the logits before sampling ({@link LogitBias#NONE}: none). Logprobs are always those of the model's own
 * distribution, before penalties, bias and temperature.
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
        int logprobs,
        int promptLogprobs,
        LogitBias logitBias) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, 0, 1, 0, 0, 0, -1);

    public SamplingParams {
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        if (!(repetitionPenalty > 0)) throw new IllegalArgumentException("repetition_penalty must be > 0, got " + repetitionPenalty);
        if (logprobs < -1) throw new IllegalArgumentException("logprobs must be >= -1, got " + logprobs);
        if (promptLogprobs < -1) throw new IllegalArgumentException("prompt logprobs must be >= -1, got " + promptLogprobs);
        logitBias = Objects.requireNonNullElse(logitBias, LogitBias.NONE);
    }

    /** Parameters without prompt logprobs or logit bias. */
    public SamplingParams(double temperature, double topP, int topK, double minP, double repetitionPenalty,
                          double presencePenalty, double frequencyPenalty, long seed, int logprobs) {
        this(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed, logprobs, -1, LogitBias.NONE);
    }

    /** Temperatures below 1e-5 are greedy too: dividing logits by them would overflow to infinity. */
    public boolean greedy() {
        return temperature < 1e-5;
    }

    public boolean wantsPromptLogprobs() {
        return promptLogprobs >= 0;
    }

    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                newSeed, logprobs, promptLogprobs, logitBias);
    }

    public SamplingParams withPromptLogprobs(int n) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, logprobs, n, logitBias);
    }

    public SamplingParams withLogitBias(LogitBias bias) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, logprobs, promptLogprobs, bias);
    }
}
