package ai.armature.bench;

import java.util.SplittableRandom;

/**
 * Independent random prompts with input and output lengths drawn from normal distributions (fixed when the
 * standard deviation is 0), clipped to at least one token. Every prompt starts with its request index encoded in
 * words, so no two prompts share a cacheable prefix beyond what the server adds itself.
 */
public final class SyntheticWorkload implements Workload {

    private final long seed;
    private final int isl;
    private final double islStddev;
    private final int osl;
    private final double oslStddev;
    private final PromptText text;
    private final long limit;
    private final SplittableRandom lengths;
    private long issued;

    /** @param limit number of requests, or -1 for unbounded (the run's duration or max-requests stops it) */
    public SyntheticWorkload(long seed, int isl, double islStddev, int osl, double oslStddev, PromptText text,
                             long limit) {
        if (isl < 1 || osl < 1) {
            throw new IllegalArgumentException("--isl and --osl must be at least 1 (got " + isl + ", " + osl + ")");
        }
        this.seed = seed;
        this.isl = isl;
        this.islStddev = islStddev;
        this.osl = osl;
        this.oslStddev = oslStddev;
        this.text = text;
        this.limit = limit;
        this.lengths = new SplittableRandom(seed ^ 0x5EED_15L);
    }

    @Override
    public synchronized Conversation next() {
        if (limit >= 0 && issued >= limit) {
            return null;
        }
        long i = issued++;
        int in = sample(isl, islStddev);
        int out = sample(osl, oslStddev);
        String prompt = PromptText.words(seed, i, text.wordsFor(in)).substring(1);
        return Conversation.single(RequestSpec.completion(prompt, out, in, "synthetic-" + i), -1);
    }

    private int sample(int mean, double stddev) {
        if (stddev <= 0) {
            return mean;
        }
        // Box-Muller on the seeded generator keeps runs reproducible.
        double u1 = 1.0 - lengths.nextDouble();
        double u2 = lengths.nextDouble();
        double z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        return Math.max(1, (int) Math.round(mean + stddev * z));
    }

    @Override
    public Endpoint endpoint() {
        return Endpoint.COMPLETIONS;
    }

    @Override
    public long totalRequests() {
        return limit;
    }

    @Override
    public String describe() {
        return "synthetic isl=" + isl + (islStddev > 0 ? "±" + islStddev : "") + " osl=" + osl
                + (oslStddev > 0 ? "±" + oslStddev : "");
    }
}
