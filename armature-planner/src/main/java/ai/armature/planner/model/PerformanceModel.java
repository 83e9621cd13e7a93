package ai.armature.planner.model;

import java.util.List;

import ai.armature.planner.profile.PerformanceProfile;

/**
 * A worker's profiled curves, interpolated: prefill time by input length (piecewise linear between measured
 * lengths, linear extrapolation past the last two, the first point's time below it: a step costs at least that),
 * and decode step time by batch size and context (linear in batch along each measured context column, then linear
 * between the two columns around the context; linear extrapolation past the edges, from the last two measured
 * points, since step time grows about linearly in both). Immutable.
 */
public final class PerformanceModel {

    private final PerformanceProfile profile;
    private final double[] prefillTokens;
    private final double[] prefillSeconds;
    private final int[] contexts;
    /** Per context column: the measured batch sizes and their step times. */
    private final double[][] columnBatches;
    private final double[][] columnSeconds;

    public PerformanceModel(PerformanceProfile profile) {
        this.profile = profile;
        List<PerformanceProfile.PrefillPoint> pts = profile.prefill();
        prefillTokens = new double[pts.size()];
        prefillSeconds = new double[pts.size()];
        for (int i = 0; i < pts.size(); i++) {
            prefillTokens[i] = pts.get(i).inputTokens();
            prefillSeconds[i] = pts.get(i).seconds();
        }
        PerformanceProfile.DecodeGrid g = profile.decode();
        int[] batches = g.batchSizes();
        int[] ctx = g.contextTokens();
        int used = 0;
        double[][] cb = new double[ctx.length][];
        double[][] cs = new double[ctx.length][];
        int[] keep = new int[ctx.length];
        for (int j = 0; j < ctx.length; j++) {
            int n = 0;
            for (int i = 0; i < batches.length; i++) if (!Double.isNaN(g.at(i, j))) n++;
            if (n == 0) continue;
            double[] b = new double[n], s = new double[n];
            int k = 0;
            for (int i = 0; i < batches.length; i++) {
                if (Double.isNaN(g.at(i, j))) continue;
                b[k] = batches[i];
                s[k++] = g.at(i, j);
            }
            cb[used] = b;
            cs[used] = s;
            keep[used++] = ctx[j];
        }
        contexts = java.util.Arrays.copyOf(keep, used);
        columnBatches = java.util.Arrays.copyOf(cb, used);
        columnSeconds = java.util.Arrays.copyOf(cs, used);
    }

    public PerformanceProfile profile() {
        return profile;
    }

    public PerformanceProfile.Limits limits() {
        return profile.limits();
    }

    /** Seconds to prefill a prompt of {@code inputTokens} tokens with nothing cached, alone on the worker. */
    public double prefillSeconds(double inputTokens) {
        if (inputTokens <= prefillTokens[0]) return prefillSeconds[0];
        return Math.max(prefillSeconds[0], piecewise(prefillTokens, prefillSeconds, inputTokens));
    }

    /**
     * Seconds to prefill a prompt of {@code inputTokens} whose first {@code cachedTokens} are prefix-cache hits: the
     * time of the positions after the hit (which still attend to the cached ones), and never less than computing
     * that many tokens alone.
     */
    public double prefillSeconds(double inputTokens, double cachedTokens) {
        double cached = Math.clamp(cachedTokens, 0, Math.max(0, inputTokens - 1));
        double fresh = inputTokens - cached;
        return Math.max(prefillSeconds(inputTokens) - (cached > 0 ? prefillSeconds(cached) : 0), prefillSeconds(fresh));
    }

    /** Seconds of one decode step of {@code batch} sequences with {@code context} tokens in context each. */
    public double decodeStepSeconds(double batch, double context) {
        double b = Math.max(1, batch);
        // Below the first measured context the step still reads the weights: no cheaper than there.
        if (contexts.length == 1 || context <= contexts[0]) return alongBatch(0, b);
        int j = 0;
        while (j < contexts.length - 2 && context > contexts[j + 1]) j++;
        double c0 = contexts[j], c1 = contexts[j + 1];
        double v0 = alongBatch(j, b), v1 = alongBatch(j + 1, b);
        return Math.max(v0, v0 + (v1 - v0) * (context - c0) / (c1 - c0));
    }

    private double alongBatch(int column, double batch) {
        double[] b = columnBatches[column], s = columnSeconds[column];
        if (b.length == 1) return s[0] * Math.max(1, batch / b[0]);
        if (batch <= b[0]) return s[0];
        return piecewise(b, s, batch);
    }

    /** Linear interpolation over increasing {@code x}, linear extrapolation past the last two points. */
    private static double piecewise(double[] x, double[] y, double at) {
        int n = x.length;
        if (n == 1) return y[0] * at / x[0];
        int i = 0;
        while (i < n - 2 && at > x[i + 1]) i++;
        return y[i] + (y[i + 1] - y[i]) * (at - x[i]) / (x[i + 1] - x[i]);
    }
}
