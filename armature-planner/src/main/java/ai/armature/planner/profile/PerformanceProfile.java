package ai.armature.planner.profile;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What one worker can do, as measured by {@link Profiler}: how long a prompt of each length takes to prefill alone
 * (time to first token at an idle worker), how long one decode step takes at each batch size and context length
 * (the inter-token latency every sequence in the batch sees), and the worker's limits that bound a batch. The
 * planner interpolates these curves ({@link ai.armature.planner.model.PerformanceModel}); nothing else about the
 * model or hardware is assumed.
 *
 * <p>{@code source} names what was profiled ({@code mock:NAME} or the model file), {@code clock} how time was
 * measured ({@code virtual}: the mocker's simulated time, exact; {@code real}: wall-clock time of real steps).
 */
public record PerformanceProfile(String source, String clock, Limits limits, List<PrefillPoint> prefill, DecodeGrid decode) {

    /** The profile format this code reads and writes. */
    public static final String FORMAT = "armature-profile-v1";

    /**
     * The worker configuration the curves hold for: the scheduler's token budget per step (prompts are computed in
     * chunks of it), the most sequences running at once, the KV block size, the KV cache capacity in tokens (all
     * sequences of a batch together) and the model's context length.
     */
    public record Limits(int maxBatchedTokens, int maxSeqs, int blockSize, long kvCacheTokens, int maxContextTokens) {
        public Limits {
            if (maxBatchedTokens < 1 || maxSeqs < 1 || blockSize < 1 || kvCacheTokens < 1 || maxContextTokens < 2) {
                throw new IllegalArgumentException("profile limits must be positive: " + maxBatchedTokens + ", " + maxSeqs + ", "
                        + blockSize + ", " + kvCacheTokens + ", " + maxContextTokens);
            }
        }
    }

    /** A prompt of {@code inputTokens} tokens took {@code seconds} from arrival to its first token, alone on the worker. */
    public record PrefillPoint(int inputTokens, double seconds) {
        public PrefillPoint {
            if (inputTokens < 1) throw new IllegalArgumentException("a prefill point needs >= 1 input token, got " + inputTokens);
            if (!(seconds > 0) || Double.isInfinite(seconds)) {
                throw new IllegalArgumentException("prefill time at " + inputTokens + " tokens must be > 0 seconds, got " + seconds);
            }
        }

        public double tokensPerSecond() {
            return inputTokens / seconds;
        }
    }

    /**
     * Decode step time by batch size (rows) and context length (columns): {@code itlSeconds[i][j]} is the duration of
     * one step in which {@code batchSizes[i]} sequences each generate a token with {@code contextTokens[j]} tokens
     * already in their context, or NaN where the batch did not fit in the KV cache. Both axes strictly increase.
     */
    public record DecodeGrid(int[] batchSizes, int[] contextTokens, double[][] itlSeconds) {
        public DecodeGrid {
            batchSizes = batchSizes.clone();
            contextTokens = contextTokens.clone();
            increasing("batch_sizes", batchSizes);
            increasing("context_tokens", contextTokens);
            if (batchSizes[0] < 1 || contextTokens[0] < 1) throw new IllegalArgumentException("decode grid axes must be >= 1");
            if (itlSeconds.length != batchSizes.length) {
                throw new IllegalArgumentException("the decode grid has " + itlSeconds.length + " rows for " + batchSizes.length + " batch sizes");
            }
            double[][] copy = new double[itlSeconds.length][];
            boolean any = false;
            for (int i = 0; i < itlSeconds.length; i++) {
                if (itlSeconds[i].length != contextTokens.length) {
                    throw new IllegalArgumentException("decode grid row " + i + " has " + itlSeconds[i].length + " values for "
                            + contextTokens.length + " context lengths");
                }
                copy[i] = itlSeconds[i].clone();
                for (double v : copy[i]) {
                    if (Double.isNaN(v)) continue;
                    if (!(v > 0) || Double.isInfinite(v)) throw new IllegalArgumentException("decode step times must be > 0 seconds, got " + v);
                    any = true;
                }
            }
            if (!any) throw new IllegalArgumentException("the decode grid holds no measured point");
            itlSeconds = copy;
        }

        private static void increasing(String name, int[] axis) {
            if (axis.length == 0) throw new IllegalArgumentException("decode grid " + name + " is empty");
            for (int i = 1; i < axis.length; i++) {
                if (axis[i] <= axis[i - 1]) throw new IllegalArgumentException("decode grid " + name + " must increase: " + Arrays.toString(axis));
            }
        }

        /** The step time at row {@code i}, column {@code j} (NaN if not measured). */
        public double at(int i, int j) {
            return itlSeconds[i][j];
        }

        @Override
        public int[] batchSizes() {
            return batchSizes.clone();
        }

        @Override
        public int[] contextTokens() {
            return contextTokens.clone();
        }

        @Override
        public double[][] itlSeconds() {
            double[][] c = new double[itlSeconds.length][];
            for (int i = 0; i < c.length; i++) c[i] = itlSeconds[i].clone();
            return c;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DecodeGrid g && Arrays.equals(g.batchSizes, batchSizes) && Arrays.equals(g.contextTokens, contextTokens)
                    && Arrays.deepEquals(g.itlSeconds, itlSeconds);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(batchSizes) * 31 + Arrays.hashCode(contextTokens);
        }

        @Override
        public String toString() {
            return "DecodeGrid[batch=" + Arrays.toString(batchSizes) + ", context=" + Arrays.toString(contextTokens) + "]";
        }
    }

    public PerformanceProfile {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(decode, "decode");
        if (prefill == null || prefill.isEmpty()) throw new IllegalArgumentException("a profile needs at least one prefill point");
        prefill = List.copyOf(prefill);
        for (int i = 1; i < prefill.size(); i++) {
            if (prefill.get(i).inputTokens() <= prefill.get(i - 1).inputTokens()) {
                throw new IllegalArgumentException("prefill points must have increasing input lengths");
            }
        }
    }
}
