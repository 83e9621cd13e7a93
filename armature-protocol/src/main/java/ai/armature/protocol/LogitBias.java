package ai.armature.protocol;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Values added to the logits of chosen tokens before sampling (OpenAI's {@code logit_bias}): {@code tokenIds} sorted
 * ascending without duplicates, {@code biases} the value for each. {@link #NONE} is the empty bias; a sampler checks
 * {@link #isEmpty()} once per token and does nothing else when there is none.
 */
public record LogitBias(int[] tokenIds, float[] biases) {

    /** No bias at all. */
    public static final LogitBias NONE = new LogitBias(new int[0], new float[0]);

    public LogitBias {
        if (tokenIds.length != biases.length) {
            throw new IllegalArgumentException("logit bias: " + tokenIds.length + " token ids but " + biases.length + " values");
        }
        tokenIds = tokenIds.clone();
        biases = biases.clone();
        for (int i = 0; i < tokenIds.length; i++) {
            if (tokenIds[i] < 0) throw new IllegalArgumentException("logit bias: token id " + tokenIds[i] + " is negative");
            if (i > 0 && tokenIds[i] <= tokenIds[i - 1]) {
                throw new IllegalArgumentException("logit bias: token ids must be sorted and distinct");
            }
            if (!Float.isFinite(biases[i])) throw new IllegalArgumentException("logit bias: values must be finite");
        }
    }

    /** The bias of a map from token id to value (any order). */
    public static LogitBias of(Map<Integer, Float> bias) {
        if (bias.isEmpty()) return NONE;
        TreeMap<Integer, Float> sorted = new TreeMap<>(bias);
        int[] ids = new int[sorted.size()];
        float[] values = new float[sorted.size()];
        int i = 0;
        for (Map.Entry<Integer, Float> e : sorted.entrySet()) {
            ids[i] = e.getKey();
            values[i++] = e.getValue();
        }
        return new LogitBias(ids, values);
    }

    public boolean isEmpty() {
        return tokenIds.length == 0;
    }

    public int size() {
        return tokenIds.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogitBias b && Arrays.equals(b.tokenIds, tokenIds) && Arrays.equals(b.biases, biases);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokenIds) + Arrays.hashCode(biases);
    }

    @Override
    public String toString() {
        return isEmpty() ? "LogitBias[]" : "LogitBias[" + tokenIds.length + " tokens]";
    }
}
