package ai.armature.planner.model;

/**
 * The traffic of one pool, observed over an interval or predicted: requests per second, the mean prompt length and
 * its variance (tokens, tokens squared), the share of prompt tokens served from the prefix cache, and the mean
 * number of generated tokens and its variance, and the longest prompt seen ({@code maxInputTokens}, infinite when
 * unknown): a heavy-tailed length distribution fitted to the mean and variance would otherwise predict prompts far
 * longer than any that comes.
 */
public record Workload(double requestRate, double inputTokens, double inputTokensVariance, double cachedFraction, double outputTokens,
                       double outputTokensVariance, double maxInputTokens) {

    public static final Workload IDLE = new Workload(0, 1, 0, 0, 1);

    /** No known longest prompt. */
    public Workload(double requestRate, double inputTokens, double inputTokensVariance, double cachedFraction, double outputTokens,
                    double outputTokensVariance) {
        this(requestRate, inputTokens, inputTokensVariance, cachedFraction, outputTokens, outputTokensVariance, Double.POSITIVE_INFINITY);
    }

    /** Outputs all of one length. */
    public Workload(double requestRate, double inputTokens, double inputTokensVariance, double cachedFraction, double outputTokens) {
        this(requestRate, inputTokens, inputTokensVariance, cachedFraction, outputTokens, 0);
    }

    public Workload {
        if (!(requestRate >= 0) || Double.isInfinite(requestRate)) throw new IllegalArgumentException("request rate must be >= 0, got " + requestRate);
        if (!(inputTokens >= 1)) inputTokens = 1;
        if (!(inputTokensVariance >= 0)) inputTokensVariance = 0;
        cachedFraction = Double.isNaN(cachedFraction) ? 0 : Math.clamp(cachedFraction, 0, 1);
        if (!(outputTokens >= 1)) outputTokens = 1;
        if (!(outputTokensVariance >= 0)) outputTokensVariance = 0;
        // 0 or NaN: not known. Never below the mean.
        maxInputTokens = maxInputTokens > 0 ? Math.max(maxInputTokens, inputTokens) : Double.POSITIVE_INFINITY;
    }

    public Workload withRequestRate(double rate) {
        return new Workload(rate, inputTokens, inputTokensVariance, cachedFraction, outputTokens, outputTokensVariance, maxInputTokens);
    }

    /** Squared coefficient of variation of the prompt length (0 for equal prompts). */
    public double inputCv2() {
        return inputTokensVariance / (inputTokens * inputTokens);
    }
}
