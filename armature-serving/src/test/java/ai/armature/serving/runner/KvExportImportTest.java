package ai.armature.serving.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.protocol.SamplingParams;
import ai.armature.serving.TinyModel;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;

/**
 * Export and import of KV blocks: a prompt computed by one runner, exported, imported into other block ids of
 * another runner, continues exactly as it does on the first runner and as a runner that computes it from scratch;
 * payloads of another layout, count, or with damaged bytes are refused.
 */
class KvExportImportTest {

    private static final int BLOCK = 16;

    @TempDir
    static Path modelDir;
    private static TinyModel tiny;
    private static LlamaModel model;

    @BeforeAll
    static void writeModel() throws Exception {
        tiny = TinyModel.write(modelDir);
        model = tiny.model();
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static LlamaModelRunner runner(KvDtype dtype, int blockSize) {
        LlamaModelRunner r = new LlamaModelRunner(model, "tiny", new int[0], dtype);
        r.allocateKvCache(8, blockSize);
        return r;
    }

    /** Computes {@code tokens[from, length)} in one chunk through {@code table} and returns the greedy next token. */
    private static int step(ModelRunner r, int[] tokens, int from, int length, int[] table) {
        var s = new ScheduledSequence(1, tokens, length, length, from, length - from, table, true, SamplingParams.GREEDY,
                new SplittableRandom(0));
        return r.execute(List.of(s))[0].tokenId();
    }

    /** Greedy decode of {@code n} tokens after {@code tokens[0, length)} whose K/V is in place up to {@code length - 1}. */
    private static int[] decode(ModelRunner r, int[] tokens, int length, int n, int[] table) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int t = step(r, tokens, length - 1, length, table);
            out[i] = t;
            tokens[length++] = t;
        }
        return out;
    }

    @Test
    void importedBlocksContinueExactlyLikeTheExportingRunnerAndLikeAFreshOne() {
        int vocab = model.config().vocabSize();
        int[] prompt = new int[120];
        SplittableRandom rnd = new SplittableRandom(16);
        for (int i = 0; i < 40; i++) prompt[i] = rnd.nextInt(vocab);

        LlamaModelRunner a = runner(KvDtype.F16, BLOCK);
        int[] tableA = {0, 1, 2, 3, 4, 5};
        int[] tokensA = prompt.clone();
        tokensA[40] = step(a, tokensA, 0, 40, tableA);
        KvBlocks exported = a.exportBlocks(new int[] {0, 1, 2});
        assertThat(exported.count()).isEqualTo(3);
        assertThat(exported.data().byteSize()).isEqualTo(3 * a.kvBytesPerToken() * BLOCK);
        assertThat(exported.layout()).isEqualTo(a.kvLayout().orElseThrow());
        int[] continuedA = decode(a, tokensA, 41, 12, tableA);

        // Through the wire format, into other block ids of another runner.
        LlamaModelRunner b = runner(KvDtype.F16, BLOCK);
        int[] tableB = {6, 3, 5, 0, 7, 1};
        b.importBlocks(KvBlocks.decode(exported.encode()), new int[] {6, 3, 5});
        int[] tokensB = prompt.clone();
        tokensB[40] = tokensA[40];
        int[] continuedB = decode(b, tokensB, 41, 12, tableB);

        LlamaModelRunner fresh = runner(KvDtype.F16, BLOCK);
        int[] tokensC = prompt.clone();
        tokensC[40] = step(fresh, tokensC, 0, 40, tableA);
        int[] continuedC = decode(fresh, tokensC, 41, 12, tableA);

        assertThat(tokensC[40]).isEqualTo(tokensA[40]);
        assertThat(continuedB).containsExactly(continuedA);
        assertThat(continuedC).containsExactly(continuedA);
        // Export after import gives back the same bytes.
        assertThat(b.exportBlocks(new int[] {6, 3}).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                .isEqualTo(exported.data().asSlice(0, 2 * exported.layout().blockBytes()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        for (ModelRunner r : List.of(a, b, fresh)) r.close();
    }

    @Test
    void aPayloadOfAnotherLayoutOrCountIsRefusedBeforeAnythingIsWritten() {
        LlamaModelRunner f16 = runner(KvDtype.F16, BLOCK);
        KvBlocks blocks = f16.exportBlocks(new int[] {0, 1});
        LlamaModelRunner f32 = runner(KvDtype.F32, BLOCK);
        assertThatThrownBy(() -> f32.importBlocks(blocks, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("f16").hasMessageContaining("f32");
        LlamaModelRunner otherBlockSize = runner(KvDtype.F16, 8);
        assertThatThrownBy(() -> otherBlockSize.importBlocks(blocks, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 tokens per block");
        LlamaModelRunner otherModel = new LlamaModelRunner(model, "other", new int[0], KvDtype.F16);
        otherModel.allocateKvCache(4, BLOCK);
        assertThatThrownBy(() -> otherModel.importBlocks(blocks, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("other");
        assertThatThrownBy(() -> f16.importBlocks(blocks, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 blocks");
        for (ModelRunner r : List.of(f16, f32, otherBlockSize, otherModel)) r.close();
    }

    @Test
    void damagedOrTruncatedPayloadsAreRefused() {
        LlamaModelRunner r = runner(KvDtype.F16, BLOCK);
        byte[] bytes = r.exportBlocks(new int[] {2, 4}).encode();
        byte[] flipped = bytes.clone();
        flipped[bytes.length / 2] ^= 1;
        assertThatThrownBy(() -> KvBlocks.decode(flipped)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("corrupt");
        assertThatThrownBy(() -> KvBlocks.decode(Arrays.copyOf(bytes, bytes.length - 100)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KvBlocks.decode(new byte[40])).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a KV block payload");
        assertThat(KvBlocks.decode(bytes).count()).isEqualTo(2);
        r.close();
    }

    @Test
    void theMockerExportsBlocksOfTheSimulatedModelsSizeCarryingAFingerprintOfTheirTokens() {
        MockProfile profile = MockProfile.parse("h100-llama3-8b,kv_cache=64MiB");
        MockModelRunner a = new MockModelRunner(profile, new ai.armature.serving.mock.SimClock());
        a.allocateKvCache(32, BLOCK);
        int[] tokens = new int[64];
        for (int i = 0; i < 40; i++) tokens[i] = 100 + i;
        step(a, tokens, 0, 40, new int[] {0, 1, 2});
        KvBlocks blocks = a.exportBlocks(new int[] {0, 1, 2});
        assertThat(blocks.layout().blockBytes()).isEqualTo(131072L * BLOCK);
        assertThat(blocks.data().byteSize()).isEqualTo(3 * 131072L * BLOCK);
        assertThat(a.blockTag(0)).isNotZero().isNotEqualTo(a.blockTag(1));

        MockModelRunner b = new MockModelRunner(profile, new ai.armature.serving.mock.SimClock());
        b.allocateKvCache(32, BLOCK);
        b.importBlocks(KvBlocks.decode(blocks.encode()), new int[] {9, 4, 7});
        assertThat(new long[] {b.blockTag(9), b.blockTag(4), b.blockTag(7)}).containsExactly(a.blockTag(0), a.blockTag(1), a.blockTag(2));
        // The same tokens computed elsewhere give the same fingerprint: it names content, not block ids.
        MockModelRunner c = new MockModelRunner(profile, new ai.armature.serving.mock.SimClock());
        c.allocateKvCache(32, BLOCK);
        step(c, tokens, 0, 40, new int[] {5, 6, 7});
        assertThat(c.blockTag(6)).isEqualTo(a.blockTag(1));
        LlamaModelRunner real = runner(KvDtype.F16, BLOCK);
        assertThatThrownBy(() -> real.importBlocks(blocks, new int[] {0, 1, 2})).isInstanceOf(IllegalArgumentException.class);
        real.close();
    }
}
