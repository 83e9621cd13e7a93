package ai.armature.serving;

import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.engine.model.KvDtype;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.InMemoryKvEventLog;
import ai.armature.protocol.kv.KvTier;
import ai.armature.serving.runner.KvBlocks;
import ai.armature.serving.runner.LlamaModelRunner;

/**
 * The seam disaggregated serving builds on, with the real engine: one worker computes a prompt, exports the K/V of
 * its full blocks, the bytes cross to another worker, which imports them into its prefix cache and then serves the
 * request computing only its last block; the greedy output equals computing everything on one worker.
 */
class PrefixTransferTest {

    @TempDir
    static Path modelDir;
    private static TinyModel tiny;

    @BeforeAll
    static void writeModel() throws Exception {
        tiny = TinyModel.write(modelDir);
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static ServingEngine worker(KvDtype dtype, InMemoryKvEventLog events) {
        LlamaModelRunner runner = new LlamaModelRunner(tiny.model(), "tiny", new int[0], dtype);
        return new ServingEngine(runner, new ServingConfig(16, 64, 8, 64L * 16 * runner.kvBytesPerToken(), 100, dtype), events);
    }

    private static int[] run(ServingEngine engine, GenerateRequest r) throws InterruptedException {
        List<Integer> tokens = new ArrayList<>();
        try (GenerationStream s = engine.submit(r)) {
            for (GenerateOutput o; (o = s.next()) != null; ) for (int t : o.tokenIds()) tokens.add(t);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    private static GenerateOutput last(ServingEngine engine, GenerateRequest r) throws InterruptedException {
        GenerateOutput last = null;
        try (GenerationStream s = engine.submit(r)) {
            for (GenerateOutput o; (o = s.next()) != null; ) last = o;
        }
        return last;
    }

    @Test
    void aPromptPrefilledOnOneWorkerContinuesOnAnotherExactlyAsOnOne() throws Exception {
        int[] prompt = randomPrompt(new SplittableRandom(77), 70, tiny.model().config().vocabSize());
        int[] expected;
        try (ServingEngine alone = worker(KvDtype.F16, new InMemoryKvEventLog())) {
            expected = run(alone, greedy("alone", prompt, 12));
        }
        InMemoryKvEventLog decodeEvents = new InMemoryKvEventLog();
        try (ServingEngine prefill = worker(KvDtype.F16, new InMemoryKvEventLog()); ServingEngine decode = worker(KvDtype.F16, decodeEvents)) {
            int[] first = run(prefill, greedy("prefill", prompt, 1));
            assertThat(first).containsExactly(expected[0]);
            byte[] wire = prefill.exportPrefix(greedy("prefill", prompt, 1)).get().encode();

            KvBlocks received = KvBlocks.decode(wire);
            assertThat(received.count()).isEqualTo(4); // 70 tokens: 4 full blocks of 16
            assertThat(decode.importPrefix(greedy("decode", prompt, 12), received).get()).isEqualTo(4);
            long[] chain = new BlockHasher("tiny").hashFullBlocks(null, prompt, 70, 16);
            assertThat(decode.kvSnapshot().get().hashes(KvTier.DEVICE)).contains(chain[0], chain[1], chain[2], chain[3]);
            assertThat(decodeEvents.size()).isEqualTo(4); // published as stored, like blocks computed there

            GenerateRequest r = greedy("decode", prompt, 12);
            GenerateOutput done;
            List<Integer> tokens = new ArrayList<>();
            try (GenerationStream s = decode.submit(r)) {
                done = null;
                for (GenerateOutput o; (o = s.next()) != null; done = o) for (int t : o.tokenIds()) tokens.add(t);
            }
            assertThat(tokens).containsExactly(java.util.Arrays.stream(expected).boxed().toArray(Integer[]::new));
            assertThat(done.usage().cachedPromptTokens()).isEqualTo(64);
            assertThat(decode.counters().prefillTokensComputed()).isEqualTo(6);
            assertThat(decode.stats().kvBlocksUsed()).isZero();
            // Importing again changes nothing: the blocks are cached already.
            assertThat(decode.importPrefix(r, received).get()).isEqualTo(4);
            assertThat(decodeEvents.size()).isEqualTo(5); // + the block the request itself filled (positions 64-79)
        }
    }

    @Test
    void aPayloadOfAnotherLayoutIsRefusedAndNothingIsCached() throws Exception {
        int[] prompt = randomPrompt(new SplittableRandom(78), 40, tiny.model().config().vocabSize());
        try (ServingEngine f16 = worker(KvDtype.F16, new InMemoryKvEventLog()); ServingEngine f32 = worker(KvDtype.F32, new InMemoryKvEventLog())) {
            run(f16, greedy("p", prompt, 1));
            KvBlocks blocks = f16.exportPrefix(greedy("p", prompt, 1)).get();
            assertThat(blocks.count()).isEqualTo(2);
            assertThatThrownBy(() -> f32.importPrefix(greedy("p", prompt, 1), blocks).get())
                    .isInstanceOf(ExecutionException.class).hasMessageContaining("f16").hasMessageContaining("f32");
            assertThat(f32.kvSnapshot().get().allHashes()).isEmpty();
            assertThat(last(f32, greedy("q", prompt, 2)).usage().cachedPromptTokens()).isZero();
            // A prompt nobody computed exports nothing.
            assertThat(f16.exportPrefix(greedy("other", randomPrompt(new SplittableRandom(1), 40, 500), 1)).get().count()).isZero();
        }
    }
}
