package ai.armature.planner.model;

import ai.armature.protocol.TrafficCounters;

/**
 * What a pool's requests look like (not how many come): the mean and variance of prompt lengths, the share of
 * prompt tokens found in the prefix cache, and the mean and variance of generated lengths, estimated from every request of the past
 * intervals with exponentially decaying weights (each interval keeps {@code keep} of the earlier ones' weight).
 * Lengths are heavy-tailed: the mean of one interval's few dozen prompts jumps with each long one, so they are
 * averaged over many requests instead of forecast per interval. The longest prompt any worker reported is kept as
 * the lengths' upper end. Not thread-safe.
 */
public final class RequestShape {

    private final double keep;
    private long longestPrompt;
    private double requests, promptTokens, promptSquares, firstTokens, firstPromptTokens, cachedTokens, finished, outputTokens, outputSquares;

    /** @param keep the weight an interval's observations keep per later interval, in [0, 1) */
    public RequestShape(double keep) {
        if (!(keep >= 0 && keep < 1)) throw new IllegalArgumentException("the decay must be in [0, 1), got " + keep);
        this.keep = keep;
    }

    /** Adds an interval's traffic. */
    public void observe(TrafficCounters t) {
        requests = keep * requests + t.requests();
        promptTokens = keep * promptTokens + t.promptTokens();
        promptSquares = keep * promptSquares + t.promptTokensSquared();
        firstTokens = keep * firstTokens + t.firstTokens();
        firstPromptTokens = keep * firstPromptTokens + t.firstTokenPromptTokens();
        cachedTokens = keep * cachedTokens + t.cachedPromptTokens();
        finished = keep * finished + t.finished();
        outputTokens = keep * outputTokens + t.outputTokens();
        outputSquares = keep * outputSquares + t.outputTokensSquared();
        longestPrompt = Math.max(longestPrompt, t.maxPromptTokens());
    }

    /** Whether any request was seen. */
    public boolean known() {
        return requests > 0;
    }

    /** The workload at {@code rate} with these lengths (the smallest request when none was seen), prompts up to the longest seen. */
    public Workload at(double rate) {
        double mean = requests > 0 ? promptTokens / requests : 1;
        double variance = requests > 0 ? Math.max(0, promptSquares / requests - mean * mean) : 0;
        double cached = firstPromptTokens > 0 ? cachedTokens / firstPromptTokens : 0;
        double out = finished > 0 ? outputTokens / finished : 1;
        double outVariance = finished > 0 ? Math.max(0, outputSquares / finished - out * out) : 0;
        return new Workload(rate, mean, variance, cached, out, outVariance, longestPrompt);
    }
}
