package ai.armature.sim;

import java.util.SplittableRandom;

/**
 * A synthetic trace with a burst: Poisson arrivals at {@code rate} per second for {@code durationSeconds}, except
 * {@code burstFactor} times that rate during {@code [burstAtSeconds, burstAtSeconds + burstSeconds)}. Prompt and
 * output lengths are normal (clipped at 1) with the given means and standard deviations; each prompt is unique
 * after an optional shared system prompt of {@code systemPromptLen} tokens. Arrival times are drawn at start (the
 * rate is piecewise constant, so an exponential gap that crosses a boundary is redrawn from it: exact by
 * memorylessness); prompts are built when due. Deterministic for a seed.
 */
public final class BurstLoad implements SimWorkload {

    private final double rate, burstFactor, burstAt, burstSeconds, duration;
    private final int isl, osl, systemPromptLen;
    private final double islStddev, oslStddev;
    private final long seed;
    private final TokenSynth tokens;
    private final long[] arrivals;

    public BurstLoad(double rate, double burstFactor, double burstAtSeconds, double burstSeconds, double durationSeconds, int isl,
                     double islStddev, int osl, double oslStddev, int systemPromptLen, int vocab, long seed) {
        if (!(rate > 0) || Double.isInfinite(rate)) throw new IllegalArgumentException("--request-rate must be > 0 for a burst, got " + rate);
        if (!(burstFactor >= 1)) throw new IllegalArgumentException("--burst-factor must be >= 1, got " + burstFactor);
        if (!(durationSeconds > 0) || !(burstAtSeconds >= 0) || !(burstSeconds >= 0) || burstAtSeconds + burstSeconds > durationSeconds) {
            throw new IllegalArgumentException("the burst (--burst-at, --burst-seconds) must lie within --duration");
        }
        if (isl < 1 || osl < 1 || systemPromptLen < 0 || islStddev < 0 || oslStddev < 0) {
            throw new IllegalArgumentException("--isl and --osl must be >= 1, their standard deviations and --system-prompt-len >= 0");
        }
        this.rate = rate;
        this.burstFactor = burstFactor;
        this.burstAt = burstAtSeconds;
        this.burstSeconds = burstSeconds;
        this.duration = durationSeconds;
        this.isl = isl;
        this.islStddev = islStddev;
        this.osl = osl;
        this.oslStddev = oslStddev;
        this.systemPromptLen = systemPromptLen;
        this.seed = seed;
        this.tokens = new TokenSynth(seed, vocab);
        this.arrivals = arrivals();
    }

    private double rateAt(double t) {
        return t >= burstAt && t < burstAt + burstSeconds ? rate * burstFactor : rate;
    }

    /** The next boundary where the rate changes after {@code t}. */
    private double boundaryAfter(double t) {
        if (t < burstAt) return burstAt;
        if (t < burstAt + burstSeconds) return burstAt + burstSeconds;
        return duration;
    }

    private long[] arrivals() {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0xB0B5L);
        long[] out = new long[64];
        int n = 0;
        double t = 0;
        while (t < duration) {
            double gap = -Math.log(1 - rnd.nextDouble()) / rateAt(t);
            double edge = boundaryAfter(t);
            if (t + gap >= edge) {
                t = edge;
                continue;
            }
            t += gap;
            if (n == out.length) out = java.util.Arrays.copyOf(out, n * 2);
            out[n++] = Math.round(t * 1e9);
        }
        return java.util.Arrays.copyOf(out, n);
    }

    @Override
    public void start(Context ctx) {
        if (arrivals.length > 0) ctx.at(arrivals[0], () -> emit(0, ctx));
    }

    private void emit(int i, Context ctx) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + i);
        int in = Math.max(1, (int) Math.round(isl + islStddev * rnd.nextGaussian()));
        int out = Math.max(1, (int) Math.round(osl + oslStddev * rnd.nextGaussian()));
        int[] prompt = new int[systemPromptLen + in];
        tokens.fill(0, 0, systemPromptLen, prompt, 0);
        tokens.fill((1L << 42) + i, 0, in, prompt, systemPromptLen);
        ctx.submit(new SimRequest("burst-" + i, prompt, out, ctx.now()));
        if (i + 1 < arrivals.length) ctx.at(arrivals[i + 1], () -> emit(i + 1, ctx));
    }

    @Override
    public long totalRequests() {
        return arrivals.length;
    }

    @Override
    public String describe() {
        return String.format("burst: %.2f req/s for %.0f s, x%.0f during [%.0f, %.0f) s; isl %d+-%.0f, osl %d+-%.0f%s; %d requests", rate, duration,
                burstFactor, burstAt, burstAt + burstSeconds, isl, islStddev, osl, oslStddev,
                systemPromptLen > 0 ? ", system prompt " + systemPromptLen : "", arrivals.length);
    }
}
