package ai.armature.engine.model;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The engine's forward pass against {@link ReferenceLlama} on small random models of every architecture and
 * weight type, and its independence of batching and chunking.
 */
class LlamaModelTest {

    @TempDir
    Path dir;

    @Test
    void modelsWhoseDecodedScalesExceedTheHeapAreRefusedWithTheSizes() {
        long gib = 1L << 30;
        LlamaModel.checkHeap("m.gguf", 2 * gib, 2 * gib); // fits exactly
        assertThatThrownBy(() -> LlamaModel.checkHeap("m.gguf", 3 * gib, gib))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("m.gguf").hasMessageContaining("3.0 GiB").hasMessageContaining("1.0 GiB")
                .hasMessageContaining("-Xmx");
        // What the check sums: a quarter byte per weight for Q4_K (its float scales), nothing for Q6_K (its scales
        // stay bytes in the interleaved copy) and the others.
        assertThat(ai.armature.engine.tensor.WeightMatrix.decodedHeapBytes(GgmlType.Q4_K, 4096)).isEqualTo(1024);
        assertThat(ai.armature.engine.tensor.WeightMatrix.decodedHeapBytes(GgmlType.Q6_K, 4096)).isZero();
        assertThat(ai.armature.engine.tensor.WeightMatrix.decodedHeapBytes(GgmlType.Q8_0, 4096)).isZero();
    }

    @Test
    void modelsWhoseRepackedTensorsExceedTheFreeMemoryAreRefusedWithTheSizes() {
        long gib = 1L << 30;
        LlamaModel.checkOffHeap("m.gguf", 2 * gib, 2 * gib);
        LlamaModel.checkOffHeap("m.gguf", 2 * gib, -1); // unknown: no check
        assertThatThrownBy(() -> LlamaModel.checkOffHeap("m.gguf", 3 * gib, gib))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("m.gguf").hasMessageContaining("3.0 GiB").hasMessageContaining("1.0 GiB");
        // What the check sums: the interleaved copies (Q4_0 as large as the file; rows rounded up to groups of 32).
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q4_0, 64, 4096)).isEqualTo(64 * 4096 / 32 * 18);
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q4_0, 33, 256)).isEqualTo(64 * 256 / 32 * 18);
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q4_K, 32, 8192)).isEqualTo(32 * 4864);
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q6_K, 3, 256)).isEqualTo(8832);
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q6_K, 33, 512)).isEqualTo(2 * 2 * 8832);
        // Q8_0: 16 x 64 quant bytes and 32 f16 scales per 32 rows and 32 columns (34 bytes per 32 weights, as the file).
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q8_0, 64, 4096)).isEqualTo(64 * 4096 / 32 * 34);
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.Q8_0, 33, 64)).isEqualTo(64 * 64 / 32 * 34);
        assertThat(ai.armature.engine.tensor.WeightMatrix.repackedBytes(GgmlType.F16, 64, 4096)).isZero();
    }

    /** dim 256 so K-quant rows (256-element super-blocks) fit; 2 layers keep the double-precision reference fast. */
    static DemoModel.Spec spec(Architecture arch, GgmlType type, String scaling, boolean tied) {
        int heads = arch == Architecture.QWEN3 ? 8 : 4; // Qwen3: heads * headDim (512) != dim (256), as in real Qwen3
        return new DemoModel.Spec("test", arch, 256, 512, 2, heads, 2, 64, 300, 64, type, tied, 10000f, scaling, 7);
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (GgmlType t : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            b.add(Arguments.of(Architecture.LLAMA, t, null, false));
        }
        b.add(Arguments.of(Architecture.LLAMA, GgmlType.Q8_0, "llama3", true));
        b.add(Arguments.of(Architecture.QWEN2, GgmlType.Q8_0, null, true));
        b.add(Arguments.of(Architecture.QWEN2, GgmlType.F32, null, false));
        b.add(Arguments.of(Architecture.QWEN3, GgmlType.Q8_0, null, true));
        b.add(Arguments.of(Architecture.QWEN3, GgmlType.F16, null, false));
        return b.build();
    }

    /**
     * Tolerance on max |engine - reference| relative to the reference logits' RMS. Float weights: only float vs
     * double rounding (~1e-6 per op over a few thousand-term sums). The reference uses the same dequantized weights,
     * so weight quantization itself is not part of the error. Q8_0, Q4_0, Q4_K, Q5_K and Q6_K: their decode kernels
     * quantize each activation vector to int8 blocks first, as ggml's integer kernels do (about 0.5% RMS error per
     * element); after two layers and the output projection the largest of 300 logits then strays up to about 6% of the
     * RMS (measured: 5.3% for Q4_0, 5.1% for Qwen3 on Q8_0), so they get 8%. A wrong forward pass (a missing layer, a
     * RoPE or attention bug) misses by far more than that.
     */
    static double tolerance(GgmlType t) {
        return switch (t) {
            case F32, F16, BF16 -> 2e-3;
            default -> 8e-2;
        };
    }

    @ParameterizedTest(name = "{0} {1} scaling={2} tied={3}")
    @MethodSource("cases")
    void matchesReferenceForPromptAndDecode(Architecture arch, GgmlType type, String scaling, boolean tied) throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(spec(arch, type, scaling, tied), file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            ReferenceLlama ref = new ReferenceLlama(f);
            int[] prompt = {1, 17, 42, 299, 5, 100, 250, 3, 77};
            int[] continuation = {9, 210, 33, 64};
            double[] expected = null;
            for (int t : prompt) expected = ref.next(t);
            try (SingleSequence seq = new SingleSequence(model, 64, 4, KvDtype.F32)) { // chunks of 4: 3 forward passes
                assertClose(seq.prefill(prompt), expected, tolerance(type), "after prompt");
                for (int t : continuation) {
                    expected = ref.next(t);
                    assertClose(seq.decode(t), expected, tolerance(type), "decode at " + seq.position());
                }
            }
        }
    }

    /**
     * A whole context's prompt (64 tokens) in one pass: every matrix product of the prompt takes the packed
     * outer-product kernels (batches of at least {@code BaseMatrix.PACKED_MIN} vectors), for every weight type.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void matchesReferenceForAPromptOfSixtyFourTokensInOnePass(GgmlType type) throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(spec(Architecture.LLAMA, type, null, false), file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            ReferenceLlama ref = new ReferenceLlama(f);
            int[] prompt = new SplittableRandom(11).ints(64, 0, 300).toArray();
            double[] expected = null;
            for (int t : prompt) expected = ref.next(t);
            try (SingleSequence seq = new SingleSequence(model, 64, 64, KvDtype.F32)) {
                assertClose(seq.prefill(prompt), expected, tolerance(type), "after a 64-token prompt");
            }
        }
    }

    /**
     * A prompt long enough for the tiled prompt attention to take several key tiles per chunk and several chunks per
     * prompt (200 tokens in chunks of 100: tiles of 64 positions, the last one partial, causal cut inside tiles), on
     * KV block sizes that do and do not divide the tile, against the double-precision reference.
     */
    @ParameterizedTest(name = "block size {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {16, 5})
    void longPromptAttentionOverSeveralKeyTilesMatchesReference(int blockSize) throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.Spec spec = spec(Architecture.LLAMA, GgmlType.F32, null, false).withContextLength(256);
        DemoModel.write(spec, file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            ReferenceLlama ref = new ReferenceLlama(f);
            int[] prompt = new SplittableRandom(9).ints(200, 0, 300).toArray();
            double[] expected = null;
            for (int t : prompt) expected = ref.next(t);
            ForwardPass pass = new ForwardPass(model);
            int blocks = (prompt.length + blockSize - 1) / blockSize;
            try (KvCache cache = new KvCache(model.config(), blocks + 3, blockSize, KvDtype.F32)) {
                int[] table = new int[blocks];
                for (int i = 0; i < blocks; i++) table[i] = blocks + 2 - i; // not in order: attention must follow the table
                float[] logits = new float[300];
                for (int from = 0; from < prompt.length; from += 100) {
                    int[] chunk = Arrays.copyOfRange(prompt, from, from + 100);
                    pass.forward(new ForwardBatch(chunk, new int[]{0, 100}, new int[]{from}, new int[][]{table},
                            new boolean[]{from + 100 == prompt.length}), cache, logits);
                }
                assertClose(logits, expected, tolerance(GgmlType.F32), "200-token prompt, block size " + blockSize);
            }
        }
    }

    @Test
    void f16AndBf16KvCachesStayCloseToF32() throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(spec(Architecture.LLAMA, GgmlType.F32, null, false), file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            int[] prompt = new SplittableRandom(3).ints(40, 0, 300).toArray();
            float[] exact = run(model, prompt, KvDtype.F32, 64);
            // F16 keeps 11 significant bits (relative error 2^-11 per stored element); BF16 keeps 8 (2^-8).
            assertClose(run(model, prompt, KvDtype.F16, 64), toDouble(exact), 5e-3, "f16 kv");
            assertClose(run(model, prompt, KvDtype.BF16, 64), toDouble(exact), 3e-2, "bf16 kv");
        }
    }

    /**
     * Each token's arithmetic is the same whatever shares its batch, except that the kernels take a different
     * path for one vector (fused dequantize-dot) than for several (dequantized tiles), and JIT-compiled lane
     * reductions may sum in another order than interpreted ones: differences stay at float rounding level. F32
     * weights: quantized ones run products of up to their fused width of vectors on int8-quantized activations
     * and wider ones in float, so there a token's logits depend on its pass's size by more than rounding (each path
     * is checked against the reference by {@link #matchesReferenceForPromptAndDecode}).
     */
    @Test
    void chunkingAndBatchingChangeLogitsOnlyByRounding() throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(spec(Architecture.LLAMA, GgmlType.F32, null, false), file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            int[] prompt = new SplittableRandom(5).ints(37, 0, 300).toArray();
            float[] whole = run(model, prompt, KvDtype.F16, 64);
            double[] expected = toDouble(whole);
            assertClose(run(model, prompt, KvDtype.F16, 5), expected, 1e-4, "chunks of 5");
            assertClose(run(model, prompt, KvDtype.F16, 1), expected, 1e-4, "one token per pass");

            // The same prompt as sequence 1 of a batch, beside an unrelated sequence 0, in a shared paged cache.
            ForwardPass pass = new ForwardPass(model);
            try (KvCache cache = new KvCache(model.config(), 8, 16, KvDtype.F16)) {
                int[] other = new SplittableRandom(6).ints(20, 0, 300).toArray();
                int[] tokens = new int[other.length + prompt.length];
                System.arraycopy(other, 0, tokens, 0, other.length);
                System.arraycopy(prompt, 0, tokens, other.length, prompt.length);
                ForwardBatch batch = new ForwardBatch(tokens, new int[]{0, other.length, tokens.length}, new int[]{0, 0},
                        new int[][]{{7, 6}, {0, 3, 5}}, new boolean[]{true, true});
                float[] logits = new float[2 * 300];
                pass.forward(batch, cache, logits);
                assertClose(Arrays.copyOfRange(logits, 300, 600), expected, 1e-4, "inside a batch");
            }
        }
    }

    @Test
    void positionLogitsMatchTheReferenceAtEveryPromptPosition() throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(spec(Architecture.LLAMA, GgmlType.F32, null, false), file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            ReferenceLlama ref = new ReferenceLlama(f);
            int[] prompt = {1, 17, 42, 299, 5, 100, 250, 3, 77};
            double[][] expected = new double[prompt.length][];
            for (int i = 0; i < prompt.length; i++) expected[i] = ref.next(prompt[i]);
            ForwardPass pass = new ForwardPass(model);
            try (KvCache cache = new KvCache(model.config(), 4, 16, KvDtype.F32)) {
                ForwardBatch batch = ForwardBatch.single(prompt, 0, new int[] {2}, true);
                float[] last = new float[300];
                pass.forward(batch, cache, last);
                float[] group = new float[4 * 300];
                int[] seen = {0};
                pass.positionLogits(batch, 0, group, 4, (pos, logits, off) -> {
                    assertThat(pos).isEqualTo(seen[0]++);
                    assertClose(Arrays.copyOfRange(logits, off, off + 300), expected[pos], tolerance(GgmlType.F32), "position " + pos);
                });
                assertThat(seen[0]).isEqualTo(prompt.length);
                assertClose(last, expected[prompt.length - 1], tolerance(GgmlType.F32), "last position");
            }
        }
    }

    @Test
    void rejectsTokensOutsideTheVocabularyAndPositionsBeyondTheContext() throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(spec(Architecture.LLAMA, GgmlType.Q8_0, null, false), file);
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            try (SingleSequence seq = new SingleSequence(model, 64, 16, KvDtype.F16)) {
                assertThatThrownBy(() -> seq.prefill(new int[]{1, 300})).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("token id 300");
            }
            assertThatThrownBy(() -> new SingleSequence(model, 65, 16, KvDtype.F16)).hasMessageContaining("context of 64");
        }
    }

    private static float[] run(LlamaModel model, int[] prompt, KvDtype dtype, int chunk) {
        try (SingleSequence seq = new SingleSequence(model, 64, chunk, dtype)) {
            return seq.prefill(prompt).clone();
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static void assertClose(float[] actual, double[] expected, double relTol, String what) {
        double ss = 0, maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            ss += expected[i] * expected[i];
            maxErr = Math.max(maxErr, Math.abs(actual[i] - expected[i]));
        }
        double rms = Math.sqrt(ss / expected.length);
        assertThat(rms).as("reference logits are not degenerate").isGreaterThan(1e-3);
        assertThat(maxErr / rms).as(what + ": max error relative to logit RMS " + rms).isLessThan(relTol);
    }
}
