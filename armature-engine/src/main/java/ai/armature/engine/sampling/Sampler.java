package ai.armature.engine.sampling;

import ai.armature.protocol.LogitBias;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.TokenLogprob;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Picks the next token from one row of logits: penalties (repetition over prompt and output tokens, presence
 * and frequency over output tokens, as vLLM and OpenAI define them), the request's logit bias, the tokens the
 * worker forbids at this step (end and stop tokens before {@code min_tokens}), a constraint's mask (structured
 * output), then greedy argmax or temperature
 * sampling with top-k, top-p and min-p. Candidates for the filters are found by thresholds over the probabilities,
 * so only the handful of likely tokens is ever sorted, not the whole vocabulary. The sequence's history is passed
 * in on each call and every random number comes from the caller's generator, so results depend only on the
 * request, never on what else is batched. One instance per thread: it keeps scratch buffers.
 */
public final class Sampler {

    private float[] probs = new float[0];
    private long[] candidates = new long[0];
    private final TokenCounts promptCounts = new TokenCounts();
    private final TokenCounts generatedCounts = new TokenCounts();
    /** Logits as the model produced them, at the positions this call changed (for the chosen token's logprob). */
    private int[] savedIds = new int[32];
    private float[] savedValues = new float[32];
    private int saved;
    private boolean saving;

    /** Samples with every token allowed; see the full method. */
    public int sample(float[] logits, int offset, int vocab, SamplingParams p, RandomGenerator random,
                      int[] history, int promptLength, int length, TokenLogprob[] logprobOut) {
        return sample(logits, offset, vocab, p, random, history, promptLength, length, logprobOut, null, null);
    }

    /** Samples among the tokens a constraint allows; see the full method. */
    public int sample(float[] logits, int offset, int vocab, SamplingParams p, RandomGenerator random,
                      int[] history, int promptLength, int length, TokenLogprob[] logprobOut, long[] allowed) {
        return sample(logits, offset, vocab, p, random, history, promptLength, length, logprobOut, allowed, null);
    }

    /**
     * Samples a token from {@code logits[offset .. offset + vocab)}, which it may modify. {@code history[0, length)}
     * is the sequence so far, its first {@code promptLength} tokens the prompt (for penalties). Only tokens whose
     * bits are set in {@code allowed} can be chosen (a constraint's mask; null allows every token, and at least one
     * must be set), never one of {@code forbidden} (null: none; the worker's end and stop ids before
     * {@code min_tokens}). If {@code p.logprobs() >= 0}, returns the chosen token's logprob (under the model's own
     * logits, before penalties, bias and masks) and the top alternatives through {@code logprobOut[0]}.
     */
    public int sample(float[] logits, int offset, int vocab, SamplingParams p, RandomGenerator random,
                      int[] history, int promptLength, int length, TokenLogprob[] logprobOut, long[] allowed, int[] forbidden) {
        boolean wantLogprobs = p.logprobs() >= 0;
        double logSumExp = 0;
        int[] topIds = null;
        float[] topLps = null;
        if (wantLogprobs) {
            logSumExp = logSumExp(logits, offset, vocab);
            int k = Math.min(p.logprobs(), vocab);
            topIds = new int[k];
            topLps = new float[k];
            topK(logits, offset, vocab, topIds, topLps, logSumExp);
        }
        saving = wantLogprobs;
        saved = 0;
        countHistory(p, history, promptLength, length);
        applyPenalties(logits, offset, p);
        if (!p.logitBias().isEmpty()) applyBias(logits, offset, vocab, p.logitBias());
        if (forbidden != null) {
            for (int id : forbidden) if (id >= 0 && id < vocab) set(logits, offset, id, Float.NEGATIVE_INFINITY);
        }
        // The constraint's mask last: a token it rules out keeps its model value for the logprob lookup below, as
        // the chosen token is never one of them.
        if (allowed != null) applyMask(logits, offset, vocab, allowed);
        int token = p.greedy() ? argmax(logits, offset, vocab) : sampleTemperature(logits, offset, vocab, p, random);
        if (allowed != null && (allowed[token >>> 6] & (1L << token)) == 0) {
            // Only rounding in the cumulative sums can land on a masked (zero-probability) token; take the best allowed one.
            token = argmax(logits, offset, vocab);
        }
        if (wantLogprobs) {
            float chosen = Float.NaN;
            for (int i = 0; i < topIds.length; i++) if (topIds[i] == token) chosen = topLps[i];
            if (Float.isNaN(chosen)) chosen = (float) (rawLogit(logits, offset, token) - logSumExp);
            logprobOut[0] = new TokenLogprob(token, chosen, topIds, topLps);
        }
        saving = false;
        return token;
    }

    /**
     * The logprob of {@code token} at one position of a prompt, with the {@code top} most likely alternatives and its
     * rank in the vocabulary (1: most likely), from that position's logits (unmodified).
     */
    public static TokenLogprob promptLogprob(float[] logits, int offset, int vocab, int token, int top) {
        double lse = logSumExp(logits, offset, vocab);
        int k = Math.min(top, vocab);
        int[] ids = new int[k];
        float[] lps = new float[k];
        topK(logits, offset, vocab, ids, lps, lse);
        float v = logits[offset + token];
        int rank = 1;
        for (int i = 0; i < vocab; i++) if (logits[offset + i] > v) rank++;
        return new TokenLogprob(token, (float) (v - lse), ids, lps, rank);
    }

    private void countHistory(SamplingParams p, int[] history, int promptLength, int length) {
        promptCounts.clear();
        generatedCounts.clear();
        boolean repetition = p.repetitionPenalty() != 1.0;
        if (repetition || p.presencePenalty() != 0 || p.frequencyPenalty() != 0) {
            if (repetition) for (int i = 0; i < promptLength; i++) promptCounts.add(history[i]);
            for (int i = promptLength; i < length; i++) generatedCounts.add(history[i]);
        }
    }

    /** Changes one logit, remembering the model's value first when the chosen token's logprob will be needed. */
    private void set(float[] logits, int offset, int id, float value) {
        if (saving) {
            boolean known = false;
            for (int i = 0; i < saved && !known; i++) known = savedIds[i] == id;
            if (!known) {
                if (saved == savedIds.length) {
                    savedIds = Arrays.copyOf(savedIds, saved * 2);
                    savedValues = Arrays.copyOf(savedValues, saved * 2);
                }
                savedIds[saved] = id;
                savedValues[saved++] = logits[offset + id];
            }
        }
        logits[offset + id] = value;
    }

    private float rawLogit(float[] logits, int offset, int token) {
        for (int i = 0; i < saved; i++) if (savedIds[i] == token) return savedValues[i];
        return logits[offset + token];
    }

    private void applyBias(float[] logits, int offset, int vocab, LogitBias bias) {
        int[] ids = bias.tokenIds();
        float[] values = bias.biases();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < vocab) set(logits, offset, ids[i], logits[offset + ids[i]] + values[i]);
        }
    }

    private void applyPenalties(float[] logits, int offset, SamplingParams p) {
        TokenCounts gen = generatedCounts;
        if (p.repetitionPenalty() != 1.0) {
            float r = (float) p.repetitionPenalty();
            TokenCounts prompt = promptCounts;
            for (int i = 0; i < prompt.distinct(); i++) penaliseRepetition(logits, offset, prompt.tokenAt(i), r);
            for (int i = 0; i < gen.distinct(); i++) {
                int t = gen.tokenAt(i);
                if (prompt.count(t) == 0) penaliseRepetition(logits, offset, t, r);
            }
        }
        if (p.presencePenalty() != 0 || p.frequencyPenalty() != 0) {
            for (int i = 0; i < gen.distinct(); i++) {
                int t = gen.tokenAt(i);
                set(logits, offset, t, logits[offset + t] - (float) (p.presencePenalty() + p.frequencyPenalty() * gen.count(t)));
            }
        }
    }

    /** Sets every token outside {@code allowed} to -infinity (probability 0). */
    static void applyMask(float[] logits, int offset, int vocab, long[] allowed) {
        for (int w = 0, base = 0; base < vocab; w++, base += 64) {
            long bits = allowed[w];
            if (bits == -1L) continue;
            int end = Math.min(64, vocab - base);
            for (int b = 0; b < end; b++) {
                if ((bits & (1L << b)) == 0) logits[offset + base + b] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    private void penaliseRepetition(float[] logits, int offset, int t, float r) {
        float v = logits[offset + t];
        set(logits, offset, t, v > 0 ? v / r : v * r);
    }

    static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        float max = logits[offset];
        for (int i = 1; i < vocab; i++) {
            if (logits[offset + i] > max) {
                max = logits[offset + i];
                best = i;
            }
        }
        return best;
    }

    private int sampleTemperature(float[] logits, int offset, int vocab, SamplingParams p, RandomGenerator random) {
        if (probs.length < vocab) probs = new float[vocab];
        float invT = (float) (1.0 / p.temperature());
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double total = 0;
        for (int i = 0; i < vocab; i++) {
            float e = (float) Math.exp((logits[offset + i] - max) * invT);
            probs[i] = e;
            total += e;
        }
        boolean filtered = p.topK() > 0 && p.topK() < vocab || p.topP() < 1 || p.minP() > 0;
        double u = random.nextDouble();
        if (!filtered) {
            double target = u * total, acc = 0;
            for (int i = 0; i < vocab; i++) {
                acc += probs[i];
                if (acc > target) return i;
            }
            return argmax(logits, offset, vocab);
        }
        // The most likely token has probability 1 before normalisation (exp(0)); thresholds are relative to it.
        int n = collectCandidates(vocab, p, total);
        // candidates[0..n) sorted by descending probability; cut by top-k, top-p, min-p.
        int keep = n;
        if (p.topK() > 0) keep = Math.min(keep, p.topK());
        if (p.topP() < 1) {
            double acc = 0, need = p.topP() * total;
            for (int i = 0; i < keep; i++) {
                acc += probOf(candidates[i]);
                if (acc >= need) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (p.minP() > 0) {
            float floor = (float) p.minP(); // relative to the top probability, which is 1
            int i = 1;
            while (i < keep && probOf(candidates[i]) >= floor) i++;
            keep = i;
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) kept += probOf(candidates[i]);
        double target = u * kept, acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += probOf(candidates[i]);
            if (acc > target) return idOf(candidates[i]);
        }
        return idOf(candidates[keep - 1]);
    }

    /**
     * Gathers, sorted by descending probability, every token above a threshold that halves until the set surely
     * contains what the filters keep: at least top-k tokens, enough mass for top-p, everything above min-p. A
     * set of all tokens above a threshold is a prefix of the sorted vocabulary, so the cuts made on it are exact.
     */
    private int collectCandidates(int vocab, SamplingParams p, double total) {
        float threshold = p.minP() > 0 ? (float) p.minP() : 0.5f;
        int needCount = p.topK() > 0 ? Math.min(p.topK(), vocab) : 1;
        double needMass = p.topP() < 1 ? p.topP() * total : 0;
        while (true) {
            int n = 0;
            double mass = 0;
            for (int i = 0; i < vocab; i++) {
                if (probs[i] >= threshold) {
                    n++;
                    mass += probs[i];
                }
            }
            // With min-p every kept token is above the min-p floor, so that first set always suffices.
            boolean enough = p.minP() > 0 || (n >= needCount && mass >= needMass) || threshold == 0f;
            if (enough) {
                if (candidates.length < n) candidates = new long[Math.max(n, 64)];
                int j = 0;
                for (int i = 0; i < vocab; i++) {
                    if (probs[i] >= threshold) candidates[j++] = ((long) Float.floatToRawIntBits(probs[i]) << 32) | i;
                }
                Arrays.sort(candidates, 0, n); // positive floats order like their bits: ascending
                for (int a = 0, b = n - 1; a < b; a++, b--) {
                    long tmp = candidates[a];
                    candidates[a] = candidates[b];
                    candidates[b] = tmp;
                }
                return n;
            }
            threshold = threshold < 1e-30f ? 0f : threshold * 0.25f;
        }
    }

    private static float probOf(long packed) {
        return Float.intBitsToFloat((int) (packed >>> 32));
    }

    private static int idOf(long packed) {
        return (int) packed;
    }

    private static double logSumExp(float[] logits, int offset, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        return max + Math.log(sum);
    }

    /** The k most likely tokens with their logprobs, most likely first (insertion into a small sorted list). */
    private static void topK(float[] logits, int offset, int vocab, int[] ids, float[] lps, double lse) {
        int k = ids.length;
        if (k == 0) return;
        float[] vals = new float[k];
        Arrays.fill(vals, Float.NEGATIVE_INFINITY);
        Arrays.fill(ids, -1);
        for (int i = 0; i < vocab; i++) {
            float v = logits[offset + i];
            if (v <= vals[k - 1]) continue;
            int j = k - 1;
            while (j > 0 && vals[j - 1] < v) {
                vals[j] = vals[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            vals[j] = v;
            ids[j] = i;
        }
        for (int j = 0; j < k; j++) lps[j] = (float) (vals[j] - lse);
    }
}
