package ai.armature.engine.sampling;

import ai.armature.protocol.SamplingParams;

import java.util.SplittableRandom;

/**
 * Everything sampling remembers about one sequence: its parameters, its own seeded random stream (so a request's
 * tokens do not depend on what else is in the batch), the prompt tokens (repetition penalty) and the counts of
 * generated tokens (presence and frequency penalties). Not thread-safe: one per sequence.
 */
public final class SamplingState {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final TokenCounts prompt = new TokenCounts();
    private final TokenCounts generated = new TokenCounts();

    public SamplingState(SamplingParams params, int[] promptTokens) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        if (params.repetitionPenalty() != 1.0) {
            for (int t : promptTokens) prompt.add(t);
        }
    }

    public SamplingParams params() {
        return params;
    }

    /** Records a token the sequence generated. */
    public void accept(int token) {
        generated.add(token);
    }

    double nextUniform() {
        return random.nextDouble();
    }

    TokenCounts promptTokens() {
        return prompt;
    }

    TokenCounts generatedTokens() {
        return generated;
    }
}
