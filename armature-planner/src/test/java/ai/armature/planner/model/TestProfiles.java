package ai.armature.planner.model;

import java.util.ArrayList;
import java.util.List;

import ai.armature.planner.profile.PerformanceProfile;

/** Profiles of made-up workers whose curves are simple formulas, so predictions can be checked in closed form. */
public final class TestProfiles {

    private TestProfiles() {
    }

    /** Prefill: 2 ms + 20 us per token. */
    public static double prefill(double tokens) {
        return 2e-3 + 20e-6 * tokens;
    }

    /** Decode step: 5 ms + 0.1 ms per sequence + 1 ns per (sequence x context token). */
    public static double decode(double batch, double context) {
        return 5e-3 + 1e-4 * batch + 1e-9 * batch * context;
    }

    /** A worker with those curves, 256 sequences, a 512-token step budget and {@code kvTokens} of KV cache. */
    public static PerformanceProfile linear(long kvTokens) {
        List<PerformanceProfile.PrefillPoint> pf = new ArrayList<>();
        for (int l = 16; l <= 16384; l *= 2) pf.add(new PerformanceProfile.PrefillPoint(l, prefill(l)));
        int[] batches = {1, 8, 64, 256};
        int[] contexts = {64, 1024, 16384};
        double[][] itl = new double[batches.length][contexts.length];
        for (int i = 0; i < batches.length; i++) for (int j = 0; j < contexts.length; j++) itl[i][j] = decode(batches[i], contexts[j]);
        return new PerformanceProfile("test:linear", "virtual", new PerformanceProfile.Limits(512, 256, 16, kvTokens, 32768), pf,
                new PerformanceProfile.DecodeGrid(batches, contexts, itl));
    }

    public static LatencyModel model() {
        return new LatencyModel(new PerformanceModel(linear(10_000_000)));
    }
}
