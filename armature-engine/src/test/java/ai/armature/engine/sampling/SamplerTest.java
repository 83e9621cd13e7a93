package ai.armature.engine.sampling;

import ai.armature.protocol.LogitBias;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.TokenLogprob;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The sampler against the definitions, computed directly in the tests. */
class SamplerTest {

    private static final float[] LOGITS = {1.0f, 3.0f, 2.5f, 0.5f, -1.0f, 2.9f};
    private final Sampler sampler = new Sampler();

    private static SamplingParams params(double t, double topP, int topK, double minP, double rep, double pres, double freq, long seed) {
        return new SamplingParams(t, topP, topK, minP, rep, pres, freq, seed, -1);
    }

    private int sample(SamplingParams p, SplittableRandom r, int[] history, int promptLength) {
        return sampler.sample(LOGITS.clone(), 0, LOGITS.length, p, r, history, promptLength, history.length, new TokenLogprob[1]);
    }

    private int[] histogram(SamplingParams p, int n) {
        SplittableRandom r = new SplittableRandom(p.seed());
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) counts[sample(p, r, new int[]{0}, 1)]++;
        return counts;
    }

    private static double[] softmax(float[] logits, double t, boolean[] keep) {
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) if (keep[i]) sum += p[i] = Math.exp(logits[i] / t);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    @Test
    void greedyTakesTheArgmax() {
        assertThat(sample(SamplingParams.GREEDY, new SplittableRandom(1), new int[]{0}, 1)).isEqualTo(1);
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        int n = 40_000;
        int[] counts = histogram(params(0.7, 1, 0, 0, 1, 0, 0, 3), n);
        double[] expected = softmax(LOGITS, 0.7, new boolean[]{true, true, true, true, true, true});
        for (int i = 0; i < LOGITS.length; i++) {
            // Binomial standard deviation is at most sqrt(n/4) = 100 counts: allow 5 of them.
            assertThat((double) counts[i]).as("token " + i).isCloseTo(expected[i] * n, within(500.0));
        }
    }

    @Test
    void topKKeepsTheKMostLikely() {
        int n = 20_000;
        int[] counts = histogram(params(1, 1, 2, 0, 1, 0, 0, 4), n);
        double[] expected = softmax(LOGITS, 1, new boolean[]{false, true, false, false, false, true});
        assertThat(counts[0] + counts[2] + counts[3] + counts[4]).isZero();
        assertThat((double) counts[1]).isCloseTo(expected[1] * n, within(400.0));
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // Probabilities at t=1, sorted: token 1 (.352), 5 (.318), 2 (.213), 0 (.048), 3 (.029), 4 (.006).
        // top_p = 0.6: token 1 alone (.352) is short of 0.6, so tokens 1 and 5 are kept.
        int[] counts = histogram(params(1, 0.6, 0, 0, 1, 0, 0, 5), 10_000);
        assertThat(counts[1] + counts[5]).isEqualTo(10_000);
        assertThat(counts[1]).isPositive();
        assertThat(counts[5]).isPositive();
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheTopOne() {
        // min_p = 0.5: keep tokens with p >= 0.5 * p(token 1): exp(2.9-3)=.90 and exp(2.5-3)=.61 pass, exp(1-3)=.14 not.
        int[] counts = histogram(params(1, 1, 0, 0.5, 1, 0, 0, 6), 10_000);
        assertThat(counts[0] + counts[3] + counts[4]).isZero();
        assertThat(counts[1]).isPositive();
        assertThat(counts[2]).isPositive();
        assertThat(counts[5]).isPositive();
    }

    @Test
    void sameSeedSameTokens() {
        int[] a = histogram(params(1, 0.9, 0, 0, 1, 0, 0, 42), 200);
        int[] b = histogram(params(1, 0.9, 0, 0, 1, 0, 0, 42), 200);
        assertThat(a).containsExactly(b);
    }

    @Test
    void penaltiesFollowTheirDefinitions() {
        float[] logits = LOGITS.clone();
        // Prompt has token 1; the generated part has token 5 twice and token 2 once.
        int[] history = {1, 5, 5, 2};
        SamplingParams p = params(0, 1, 0, 0, 2.0, 0.5, 0.25, 1);
        sampler.sample(logits, 0, logits.length, p, new SplittableRandom(1), history, 1, history.length, new TokenLogprob[1]);
        // Repetition (prompt and output tokens): positive logits divided by 2; presence 0.5 + frequency 0.25 * count on output tokens.
        assertThat(logits[1]).isCloseTo(3.0f / 2, within(1e-6f));
        assertThat(logits[5]).isCloseTo(2.9f / 2 - 0.5f - 0.5f, within(1e-6f));
        assertThat(logits[2]).isCloseTo(2.5f / 2 - 0.5f - 0.25f, within(1e-6f));
        assertThat(logits[0]).isEqualTo(1.0f);
    }

    @Test
    void logprobsComeFromTheUnpenalisedDistribution() {
        TokenLogprob[] out = new TokenLogprob[1];
        SamplingParams p = new SamplingParams(0, 1, 0, 0, 1.5, 0, 0, 1, 3);
        int token = sampler.sample(LOGITS.clone(), 0, LOGITS.length, p, new SplittableRandom(1), new int[]{1}, 0, 1, out);
        double lse = 0;
        for (float l : LOGITS) lse += Math.exp(l);
        lse = Math.log(lse);
        assertThat(token).isEqualTo(5); // token 1 was penalised below token 5
        assertThat(out[0].tokenId()).isEqualTo(5);
        assertThat((double) out[0].logprob()).isCloseTo(2.9 - lse, within(1e-5));
        assertThat(out[0].topTokenIds()).containsExactly(1, 5, 2);
        assertThat((double) out[0].topLogprobs()[0]).isCloseTo(3.0 - lse, within(1e-5));
    }

    @Test
    void largeVocabularyTopPIsExactAgainstAFullSort() {
        SplittableRandom r = new SplittableRandom(9);
        float[] logits = new float[32000];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextGaussian() * 3);
        // Full-sort reference of the nucleus for top_p = 0.9 at t = 1.
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        double sum = 0;
        for (float l : logits) sum += Math.exp(l);
        java.util.Set<Integer> nucleus = new java.util.HashSet<>();
        double acc = 0;
        for (Integer i : order) {
            nucleus.add(i);
            acc += Math.exp(logits[i]) / sum;
            if (acc >= 0.9) break;
        }
        SamplingParams p = params(1, 0.9, 0, 0, 1, 0, 0, 10);
        SplittableRandom rr = new SplittableRandom(10);
        for (int i = 0; i < 2000; i++) {
            int t = sampler.sample(logits.clone(), 0, logits.length, p, rr, new int[]{0}, 1, 1, new TokenLogprob[1]);
            assertThat(nucleus).contains(t);
        }
    }

    @Test
    void logitBiasShiftsTheChoiceButNotTheReportedLogprobs() {
        // Greedy picks token 1 (3.0); +1 on token 2 (2.5 -> 3.5) makes it the argmax; -100 on token 1 bans it.
        SamplingParams biased = SamplingParams.GREEDY.withLogitBias(LogitBias.of(java.util.Map.of(2, 1.0f, 1, -100f)));
        assertThat(sample(biased, new SplittableRandom(1), new int[]{0}, 1)).isEqualTo(2);
        TokenLogprob[] out = new TokenLogprob[1];
        SamplingParams withLogprobs = new SamplingParams(0, 1, 0, 0, 1, 0, 0, 1, 2, -1, biased.logitBias());
        int token = sampler.sample(LOGITS.clone(), 0, LOGITS.length, withLogprobs, new SplittableRandom(1), new int[]{0}, 1, 1, out);
        double lse = 0;
        for (float l : LOGITS) lse += Math.exp(l);
        lse = Math.log(lse);
        assertThat(token).isEqualTo(2);
        // Token 2 is third by the model's own logits, so it is not among the top 2: its logprob is the model's.
        assertThat(out[0].topTokenIds()).containsExactly(1, 5);
        assertThat((double) out[0].logprob()).isCloseTo(2.5 - lse, within(1e-5));
        // A bias on a sampled (non-greedy) request moves the whole distribution: +100 makes token 4 certain.
        SamplingParams hot = params(1, 1, 0, 0, 1, 0, 0, 3).withLogitBias(LogitBias.of(java.util.Map.of(4, 100f)));
        assertThat(histogram(hot, 500)[4]).isEqualTo(500);
    }

    @Test
    void forbiddenTokensAreNeverChosen() {
        int[] forbidden = {1, 5};
        SplittableRandom r = new SplittableRandom(2);
        assertThat(sampler.sample(LOGITS.clone(), 0, LOGITS.length, SamplingParams.GREEDY, r, new int[]{0}, 1, 1,
                new TokenLogprob[1], null, forbidden)).isEqualTo(2);
        SamplingParams p = params(1, 1, 0, 0, 1, 0, 0, 3);
        for (int i = 0; i < 2000; i++) {
            int t = sampler.sample(LOGITS.clone(), 0, LOGITS.length, p, r, new int[]{0}, 1, 1, new TokenLogprob[1], null, forbidden);
            assertThat(t).isNotIn(1, 5);
        }
    }

    @Test
    void promptLogprobsHaveTheTokensLogprobTopListAndRank() {
        double lse = 0;
        for (float l : LOGITS) lse += Math.exp(l);
        lse = Math.log(lse);
        TokenLogprob lp = Sampler.promptLogprob(LOGITS, 0, LOGITS.length, 2, 2);
        assertThat((double) lp.logprob()).isCloseTo(2.5 - lse, within(1e-5));
        assertThat(lp.rank()).isEqualTo(3); // behind 3.0 and 2.9
        assertThat(lp.topTokenIds()).containsExactly(1, 5);
        assertThat(Sampler.promptLogprob(LOGITS, 0, LOGITS.length, 1, 0).rank()).isEqualTo(1);
    }
}
