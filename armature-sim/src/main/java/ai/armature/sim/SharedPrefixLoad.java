package ai.armature.sim;

import java.util.SplittableRandom;

/**
 * {@code bench load}'s shared-prefix workload in tokens: G groups of P prompts; a group's prompts share one
 * prefix (a system prompt) and end with a unique question; the G*P prompts arrive in a seeded random order, at
 * Poisson arrivals of {@code rate} per second, or all at time 0 when the rate is 0.
 */
public final class SharedPrefixLoad implements SimWorkload {

    private final int groups, perGroup, prefixLen, questionLen, osl;
    private final double rate;
    private final long seed;
    private final TokenSynth tokens;

    public SharedPrefixLoad(int groups, int perGroup, int prefixLen, int questionLen, int osl, double rate, int vocab, long seed) {
        if (groups < 1 || perGroup < 1 || prefixLen < 1 || questionLen < 1 || osl < 1) {
            throw new IllegalArgumentException("--groups, --prompts-per-group, --prefix-len, --question-len and --osl must all be at least 1");
        }
        if (!(rate >= 0) || Double.isInfinite(rate)) throw new IllegalArgumentException("--request-rate must be >= 0, got " + rate);
        this.groups = groups;
        this.perGroup = perGroup;
        this.prefixLen = prefixLen;
        this.questionLen = questionLen;
        this.osl = osl;
        this.rate = rate;
        this.seed = seed;
        this.tokens = new TokenSynth(seed, vocab);
    }

    @Override
    public void start(Context ctx) {
        int n = groups * perGroup;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x0DDBA11L);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        long t = 0;
        for (int k = 0; k < n; k++) {
            int g = order[k] / perGroup, p = order[k] % perGroup;
            int[] prompt = new int[prefixLen + questionLen];
            tokens.fill(g, 0, prefixLen, prompt, 0);
            tokens.fill((1L << 40) + (long) g * perGroup + p, 0, questionLen, prompt, prefixLen);
            if (rate > 0) t += Math.round(-Math.log(1 - rnd.nextDouble()) / rate * 1e9);
            ctx.submit(new SimRequest("group-" + g + "/" + p, prompt, osl, t));
        }
    }

    @Override
    public long totalRequests() {
        return (long) groups * perGroup;
    }

    @Override
    public String describe() {
        return "shared-prefix groups=" + groups + " prompts-per-group=" + perGroup + " prefix-len=" + prefixLen
                + " question-len=" + questionLen + " osl=" + osl + (rate > 0 ? " rate=" + rate + "/s" : " all at once");
    }
}
