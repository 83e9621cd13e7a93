package ai.armature.bench;

/**
 * Measures how the target server's tokenizer counts {@link PromptText} words: two probe requests (64 and 512
 * words, one output token each) give {@code usage.prompt_tokens} as a line {@code overhead + tokensPerWord *
 * words}; the overhead is what the server adds to every prompt (BOS, chat template). Armature's own tokenizer
 * lives in armature-engine, which this module must not depend on; a caller that has the exact tokenizer can
 * construct a {@link PromptText} itself instead.
 */
public final class Calibration {

    /** The outcome: the fitted text model, or the uncalibrated one with a reason. */
    public record Result(PromptText text, boolean calibrated, String note) {
    }

    private static final int SMALL = 64;
    private static final int LARGE = 512;

    private Calibration() {
    }

    /** Probes the server through {@code client} on {@code endpoint}; never throws for server trouble. */
    public static Result run(OpenAiClient client, Endpoint endpoint, long seed) {
        int small = probe(client, endpoint, seed, SMALL);
        int large = probe(client, endpoint, seed, LARGE);
        if (small <= 0 || large <= small) {
            return new Result(PromptText.uncalibrated(), false,
                    "calibration failed (the server reported no usable usage.prompt_tokens); assuming 1 token per word");
        }
        double perWord = (double) (large - small) / (LARGE - SMALL);
        int overhead = (int) Math.round(small - perWord * SMALL);
        return new Result(new PromptText(perWord, Math.max(0, overhead)), true,
                String.format(java.util.Locale.ROOT, "%.3f tokens per word, %d tokens overhead per prompt",
                        perWord, Math.max(0, overhead)));
    }

    private static int probe(OpenAiClient client, Endpoint endpoint, long seed, int words) {
        String prompt = PromptText.words(seed, (1L << 45) + words, words).substring(1);
        RequestSpec spec = RequestSpec.completion(prompt, 1, words, "calibration");
        OpenAiClient.Result r = client.send(spec, endpoint, -1, System.nanoTime(), -1, false);
        return r.record().ok() ? r.record().promptTokens() : -1;
    }
}
