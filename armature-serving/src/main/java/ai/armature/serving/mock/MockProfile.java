package ai.armature.serving.mock;

import java.util.Arrays;
import java.util.Locale;

import ai.armature.serving.ByteSize;

/**
 * The performance model and shape of a simulated model on simulated hardware. One step of a batch takes
 * <pre>
 *   stepOverhead + max(weightRead, tokens * tokenCompute) + attentionPairs * attentionPair + kvTokensRead * kvRead
 * </pre>
 * where {@code tokens} is the number of positions computed in the step (all sequences), {@code attentionPairs} is
 * the number of (query position, key position) pairs attended ({@code count * start + count * (count + 1) / 2} per
 * sequence: prefill cost grows with tokens and context), and {@code kvTokensRead} is the context each sequence
 * reads from the cache ({@code start + count}: decode cost grows with batch size and KV read). The max() is the
 * roofline: a small batch is bound by reading the weights once, a large one by matrix compute.
 *
 * <p>Field units: seconds and bytes. {@code eosProbability} is the chance that any generated token is the first
 * end-of-generation id (0: never stop early, generation ends by max tokens).
 *
 * <p>The built-in {@link #H100_LLAMA3_8B} is derived, not measured by us, from public figures: NVIDIA's H100 SXM
 * datasheet (989 TFLOPS dense BF16, 3.35 TB/s HBM3, 80 GB) and Meta's Llama 3 8B configuration (8.03 B parameters,
 * 32 layers, hidden size 4096, 8 KV heads of dimension 128, vocabulary 128256, context 8192, end tokens 128001 and
 * 128009), BF16 weights and KV, with assumed efficiencies of 50% of peak FLOPS and 80% of peak bandwidth:
 * <ul>
 *   <li>weightRead = 16.06e9 B / (0.8 * 3.35e12 B/s) = 6.0 ms (the batch-1 decode floor);</li>
 *   <li>tokenCompute = 2 * 8.03e9 FLOP / (0.5 * 989e12 FLOP/s) = 32.5 us per token (about 31k prompt tokens/s);</li>
 *   <li>attentionPair = 4 * 32 layers * 4096 FLOP / (0.5 * 989e12) = 1.06 ns;</li>
 *   <li>kvBytesPerToken = 2 (K, V) * 32 * 8 * 128 * 2 B = 131072 B; kvRead = 131072 / (0.8 * 3.35e12) = 49 ns per token;</li>
 *   <li>kvCache = 0.9 * 80e9 (vLLM's default memory share) - 16.06e9 weights - 2e9 activations = 54 GB (~412k tokens);</li>
 *   <li>stepOverhead = 0.3 ms (scheduling, sampling, kernel launches).</li>
 * </ul>
 * This gives a batch-1 inter-token latency of about 6.3 ms and a 1000-token prefill of about 33 ms, in line with
 * the 6-8 ms TPOT and tens-of-milliseconds TTFT commonly published for vLLM serving Llama 3 8B on one H100.
 */
public record MockProfile(
        String name,
        int vocabSize,
        int maxContextTokens,
        int[] eosTokenIds,
        long kvBytesPerToken,
        long kvCacheBytes,
        double stepOverheadSeconds,
        double weightReadSeconds,
        double tokenComputeSeconds,
        double attentionPairSeconds,
        double kvReadSecondsPerToken,
        double eosProbability) {

    public static final MockProfile H100_LLAMA3_8B = new MockProfile("h100-llama3-8b", 128256, 8192,
            new int[] {128001, 128009}, 131072L, 54_000_000_000L,
            0.3e-3, 16.06e9 / (0.8 * 3.35e12), 2 * 8.03e9 / (0.5 * 989e12), 4.0 * 32 * 4096 / (0.5 * 989e12),
            131072 / (0.8 * 3.35e12), 0.0);

    public MockProfile {
        if (vocabSize < 2) throw new IllegalArgumentException("mock profile: vocab_size must be >= 2, got " + vocabSize);
        if (maxContextTokens < 2) throw new IllegalArgumentException("mock profile: max_context must be >= 2, got " + maxContextTokens);
        if (eosTokenIds.length == 0) throw new IllegalArgumentException("mock profile: eos_token_ids must name at least one token");
        for (int e : eosTokenIds) {
            if (e < 0 || e >= vocabSize) throw new IllegalArgumentException("mock profile: eos token " + e + " is outside the vocabulary");
        }
        if (eosTokenIds.length >= vocabSize) throw new IllegalArgumentException("mock profile: every token is an eos token");
        if (kvBytesPerToken < 1) throw new IllegalArgumentException("mock profile: kv_bytes_per_token must be >= 1");
        if (!(eosProbability >= 0 && eosProbability <= 1)) throw new IllegalArgumentException("mock profile: eos_probability must be in [0, 1]");
        if (stepOverheadSeconds < 0 || weightReadSeconds < 0 || tokenComputeSeconds < 0 || attentionPairSeconds < 0 || kvReadSecondsPerToken < 0)
            throw new IllegalArgumentException("mock profile: times must be >= 0");
        eosTokenIds = eosTokenIds.clone();
    }

    /** Simulated duration of a step with these totals (see the class comment). */
    public double stepSeconds(long tokens, long attentionPairs, long kvTokensRead) {
        if (tokens == 0) return 0;
        return stepOverheadSeconds + Math.max(weightReadSeconds, tokens * tokenComputeSeconds)
                + attentionPairs * attentionPairSeconds + kvTokensRead * kvReadSecondsPerToken;
    }

    /**
     * Parses {@code --mock-profile}: an optional built-in name first ({@code h100-llama3-8b}, the default base),
     * then {@code key=value} overrides separated by commas. Keys: {@code vocab_size}, {@code max_context},
     * {@code eos_token_ids} (ids separated by ':'), {@code kv_bytes_per_token}, {@code kv_cache} (a size such as
     * {@code 2GiB}), {@code step_overhead_ms}, {@code weight_read_ms}, {@code token_compute_us},
     * {@code attention_pair_ns}, {@code kv_read_ns_per_token}, {@code eos_probability}, {@code name}.
     * Example: {@code h100-llama3-8b,eos_probability=0.01,kv_cache=8GiB}.
     */
    public static MockProfile parse(String spec) {
        if (spec == null || spec.isBlank()) return H100_LLAMA3_8B;
        String[] parts = spec.split(",");
        Builder b = null;
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i].trim();
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            if (eq < 0) {
                if (i == 0) {
                    b = new Builder(builtIn(part));
                    continue;
                }
                throw new IllegalArgumentException("mock profile: '" + part + "' is not key=value (built-in names go first)");
            }
            if (b == null) b = new Builder(H100_LLAMA3_8B);
            b.set(part.substring(0, eq).trim().toLowerCase(Locale.ROOT), part.substring(eq + 1).trim());
        }
        return b == null ? H100_LLAMA3_8B : b.build();
    }

    /**
     * This profile with the vocabulary of the tokenizer it serves with: its size and end-of-generation ids (none
     * given: keep the profile's, moved into the vocabulary if they fall outside it).
     */
    public MockProfile withVocabulary(int newVocabSize, int[] newEosTokenIds) {
        int[] eos = newEosTokenIds;
        if (eos == null || eos.length == 0) {
            eos = Arrays.stream(eosTokenIds).filter(e -> e < newVocabSize).toArray();
            if (eos.length == 0) eos = new int[] {newVocabSize - 1};
        }
        return new MockProfile(name, newVocabSize, maxContextTokens, eos, kvBytesPerToken, kvCacheBytes, stepOverheadSeconds,
                weightReadSeconds, tokenComputeSeconds, attentionPairSeconds, kvReadSecondsPerToken, eosProbability);
    }

    /** A built-in profile by name. */
    public static MockProfile builtIn(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "h100-llama3-8b" -> H100_LLAMA3_8B;
            default -> throw new IllegalArgumentException("unknown mock profile '" + name + "': built-in profiles are h100-llama3-8b");
        };
    }

    /** Collects overrides so the profile is validated once, with all of them applied. */
    private static final class Builder {
        String name;
        int vocabSize, maxContextTokens;
        int[] eosTokenIds;
        long kvBytesPerToken, kvCacheBytes;
        double stepOverhead, weightRead, tokenCompute, attentionPair, kvRead, eosProbability;

        Builder(MockProfile p) {
            name = p.name;
            vocabSize = p.vocabSize;
            maxContextTokens = p.maxContextTokens;
            eosTokenIds = p.eosTokenIds;
            kvBytesPerToken = p.kvBytesPerToken;
            kvCacheBytes = p.kvCacheBytes;
            stepOverhead = p.stepOverheadSeconds;
            weightRead = p.weightReadSeconds;
            tokenCompute = p.tokenComputeSeconds;
            attentionPair = p.attentionPairSeconds;
            kvRead = p.kvReadSecondsPerToken;
            eosProbability = p.eosProbability;
        }

        void set(String key, String value) {
            try {
                switch (key) {
                    case "name" -> name = value;
                    case "vocab_size" -> vocabSize = Integer.parseInt(value);
                    case "max_context" -> maxContextTokens = Integer.parseInt(value);
                    case "eos_token_ids" -> eosTokenIds = Arrays.stream(value.split(":")).mapToInt(v -> Integer.parseInt(v.trim())).toArray();
                    case "kv_bytes_per_token" -> kvBytesPerToken = Long.parseLong(value);
                    case "kv_cache" -> kvCacheBytes = ByteSize.parse(value);
                    case "step_overhead_ms" -> stepOverhead = Double.parseDouble(value) * 1e-3;
                    case "weight_read_ms" -> weightRead = Double.parseDouble(value) * 1e-3;
                    case "token_compute_us" -> tokenCompute = Double.parseDouble(value) * 1e-6;
                    case "attention_pair_ns" -> attentionPair = Double.parseDouble(value) * 1e-9;
                    case "kv_read_ns_per_token" -> kvRead = Double.parseDouble(value) * 1e-9;
                    case "eos_probability" -> eosProbability = Double.parseDouble(value);
                    default -> throw new IllegalArgumentException("mock profile: unknown key '" + key + "'; known keys: name, vocab_size, "
                            + "max_context, eos_token_ids, kv_bytes_per_token, kv_cache, step_overhead_ms, weight_read_ms, "
                            + "token_compute_us, attention_pair_ns, kv_read_ns_per_token, eos_probability");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("mock profile: cannot read " + key + "=" + value + " as a number");
            }
        }

        MockProfile build() {
            return new MockProfile(name, vocabSize, maxContextTokens, eosTokenIds, kvBytesPerToken, kvCacheBytes,
                    stepOverhead, weightRead, tokenCompute, attentionPair, kvRead, eosProbability);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MockProfile p && p.name.equals(name) && p.vocabSize == vocabSize && p.maxContextTokens == maxContextTokens
                && Arrays.equals(p.eosTokenIds, eosTokenIds) && p.kvBytesPerToken == kvBytesPerToken && p.kvCacheBytes == kvCacheBytes
                && p.stepOverheadSeconds == stepOverheadSeconds && p.weightReadSeconds == weightReadSeconds
                && p.tokenComputeSeconds == tokenComputeSeconds && p.attentionPairSeconds == attentionPairSeconds
                && p.kvReadSecondsPerToken == kvReadSecondsPerToken && p.eosProbability == eosProbability;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(eosTokenIds);
    }

    @Override
    public String toString() {
        return "MockProfile[" + name + ", vocab=" + vocabSize + ", context=" + maxContextTokens + ", eos=" + Arrays.toString(eosTokenIds)
                + ", kvBytesPerToken=" + kvBytesPerToken + ", kvCache=" + kvCacheBytes + " B, overhead=" + stepOverheadSeconds
                + " s, weightRead=" + weightReadSeconds + " s, tokenCompute=" + tokenComputeSeconds + " s, attentionPair="
                + attentionPairSeconds + " s, kvRead=" + kvReadSecondsPerToken + " s/token, eosProbability=" + eosProbability + "]";
    }
}
