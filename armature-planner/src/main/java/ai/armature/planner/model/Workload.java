package ai.armature.planner.model;

/**
 * The traffic of one pool, observed over an interval or predicted: requests per second, the mean prompt length and
 * its variance (tokens, tokens squared), the share of prompt tokens served from the prefix cache, and the mean
 * number of generated tokens and its variance.
 */
public record Workload(double requestRate, double inputTokens, double inputTokensVariance, double cachedFraction, double outputTokens,
                       double outputTokensVariance) {

    public static final Workload IDLE = new Workload(0, 1, 0, 0, 1);

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
    }

    public Workload withRequestRate(double rate) {
        return new Workload(rate, inputTokens, inputTokensVariance, cachedFraction, outputTokens, outputTokensVariance);
    }

    /** Squared coefficient of variation of the prompt length (0 for equal prompts). */
    public double inputCv2() {
        return inputTokensVariance / (inputTokens * inputTokens);
    }
}
