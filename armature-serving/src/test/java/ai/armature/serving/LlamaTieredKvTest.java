package ai.armature.serving;

import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.KvTier;
import ai.armature.serving.kv.KvTierConfig;
import ai.armature.protocol.kv.KvTierStats;
import ai.armature.serving.runner.LlamaModelRunner;

/**
 * The tiered KV cache with the real engine (the tiny demo model): greedy output whose prompt K/V was copied back
 * from host memory, or from disk after a restart, or recomputed around a corrupt block file, is token for token
 * the output computed from scratch.
 */
class LlamaTieredKvTest {

    private static final int BLOCK = 16;

    @TempDir
    static Path modelDir;
    @TempDir
    Path diskDir;
    private static TinyModel tiny;
    private static LlamaModel model;
    private static int vocab;

    @BeforeAll
    static void writeModel() throws Exception {
        // F32 weights: with quantized weights (Q8_0, Q4_0, K-quants) a product with up to the kernels' fused width of
        // vectors (decode steps, short prefill chunks) runs on int8-quantized activations and a wider one in float, so
        // a token's logits depend on how the scheduler batched it, which a prefix-cache hit does not fix. F32's paths agree to float
        // rounding, which leaves this test to check the serving path itself.
        tiny = TinyModel.write(modelDir, ai.armature.engine.tensor.GgmlType.F32);
        model = tiny.model();
        vocab = model.config().vocabSize();
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static LlamaModelRunner runner() {
        return new LlamaModelRunner(model, "tiny", new int[0], KvDtype.F16);
    }

    /** 16 device blocks of 16 tokens, so three 120-token prompts one after another evict an earlier one. */
    private static ServingConfig config(KvTierConfig tiers) {
        return new ServingConfig(BLOCK, 64, 8, 16L * BLOCK * runner().kvBytesPerToken(), 100, KvDtype.F16).withKvTiers(tiers);
    }

    private static int[] fromScratch(GenerateRequest r) {
        try (Harness h = new Harness(runner(), config(KvTierConfig.NONE))) {
            h.add(r);
            h.runToIdle();
            assertThat(h.last(r.requestId()).usage().cachedPromptTokens()).isZero();
            return h.tokens(r.requestId());
        }
    }

    private static KvTierStats tier(Harness h, KvTier t) {
        return h.core.kvTierStats().stream().filter(s -> s.tier() == t).findFirst().orElseThrow();
    }

    private static void evictDevice(Harness h, SplittableRandom rnd) {
        for (int i = 0; i < 3; i++) {
            h.add(greedy("evict" + i, randomPrompt(rnd, 120, vocab), 2));
            h.runToIdle();
        }
    }

    private static void assertIdle(Harness h) {
        assertThat(h.core.hasWork()).isFalse();
        assertThat(h.core.stats().kvBlocksUsed()).isZero();
    }

    @Test
    void blocksOnboardedFromHostMemoryGiveTheOutputComputedFromScratch() {
        SplittableRandom rnd = new SplittableRandom(41);
        int[] prompt = randomPrompt(rnd, 100, vocab);
        int[] expected = fromScratch(greedy("x", prompt, 16));
        long hostBytes = 64L * BLOCK * runner().kvBytesPerToken();
        try (Harness h = new Harness(runner(), config(new KvTierConfig(hostBytes, null, 0)))) {
            h.add(greedy("first", prompt, 16));
            h.runToIdle();
            evictDevice(h, rnd);
            h.add(greedy("second", prompt, 16));
            h.runToIdle();
            assertThat(h.tokens("first")).containsExactly(expected);
            assertThat(h.tokens("second")).containsExactly(expected);
            assertThat(h.last("second").usage().cachedPromptTokens()).isEqualTo(96);
            assertThat(tier(h, KvTier.HOST).upBlocks()).isEqualTo(6);
            assertIdle(h);
        }
    }

    @Test
    void blocksOnboardedFromDiskAfterARestartGiveTheOutputComputedFromScratch() {
        SplittableRandom rnd = new SplittableRandom(42);
        int[] prompt = randomPrompt(rnd, 100, vocab);
        int[] expected = fromScratch(greedy("x", prompt, 16));
        // Host memory for 2 blocks only: the conversation spills to disk.
        KvTierConfig tiers = new KvTierConfig(2L * BLOCK * runner().kvBytesPerToken(), diskDir, 1 << 22);
        try (Harness h = new Harness(runner(), config(tiers))) {
            h.add(greedy("first", prompt, 16));
            h.runToIdle();
            evictDevice(h, rnd);
            assertThat(tier(h, KvTier.DISK).downBlocks()).isPositive();
        }
        try (Harness restarted = new Harness(runner(), config(tiers))) {
            assertThat(restarted.core.kvSnapshot().hashes(KvTier.DISK)).isNotEmpty();
            restarted.add(greedy("second", prompt, 16));
            restarted.runToIdle();
            assertThat(restarted.tokens("second")).containsExactly(expected);
            assertThat(restarted.last("second").usage().cachedPromptTokens()).isEqualTo(96);
            assertThat(tier(restarted, KvTier.DISK).upBlocks()).isEqualTo(6);
            assertIdle(restarted);
        }
    }

    @Test
    void aCorruptBlockOnDiskIsRecomputedAndTheOutputIsUnchanged() throws Exception {
        SplittableRandom rnd = new SplittableRandom(43);
        int[] prompt = randomPrompt(rnd, 100, vocab);
        int[] expected = fromScratch(greedy("x", prompt, 16));
        KvTierConfig tiers = new KvTierConfig(0, diskDir, 1 << 22);
        try (Harness h = new Harness(runner(), config(tiers))) {
            h.add(greedy("first", prompt, 16));
            h.runToIdle();
        }
        long[] chain = new BlockHasher("tiny").hashFullBlocks(null, prompt, 100, BLOCK);
        try (RandomAccessFile f = new RandomAccessFile(diskDir.resolve(String.format("%016x.kvb", chain[3])).toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 1);
        }
        try (Harness restarted = new Harness(runner(), config(tiers))) {
            restarted.add(greedy("second", prompt, 16));
            restarted.runToIdle();
            assertThat(restarted.tokens("second")).containsExactly(expected);
            assertThat(restarted.last("second").usage().cachedPromptTokens()).isEqualTo(48);
            assertThat(tier(restarted, KvTier.DISK).droppedBlocks()).isEqualTo(1);
            assertIdle(restarted);
        }
    }
}
