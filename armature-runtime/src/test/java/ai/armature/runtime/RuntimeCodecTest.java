package ai.armature.runtime;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.Migration;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.TokenLogprob;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every record that crosses a process boundary survives the trip through its protobuf message (and bytes). */
class RuntimeCodecTest {

    @Test
    void requestsRoundTrip() throws Exception {
        SamplingParams sampling = new SamplingParams(0.7, 0.9, 40, 0.05, 1.1, 0.3, 0.2, -1234567890123L, 3);
        StopConditions stop = new StopConditions(99, new int[] {5, 7}, true, true);
        SamplingParams scoring = sampling.withPromptLogprobs(2)
                .withLogitBias(ai.armature.protocol.LogitBias.of(java.util.Map.of(3, -100f, 17, 2.5f)));
        StopConditions min = new StopConditions(20, null, false, false, 12);
        for (GenerateRequest r : List.of(
                new GenerateRequest("d", new int[] {4, 5}, scoring, min),
                new GenerateRequest("a", new int[] {1, 2, 3}, SamplingParams.GREEDY, StopConditions.maxTokens(4)),
                new GenerateRequest("b", new int[] {0, Integer.MAX_VALUE, 42}, sampling, stop, -3, "salt", null),
                new GenerateRequest("c~m2", new int[] {9, 8, 7, 6}, sampling, stop, 5, null, new Migration(2, 2, Set.of("w1", "w2"))),
                new GenerateRequest("d", new int[] {3}, sampling, stop).withConstraint(ai.armature.protocol.OutputConstraint.jsonObject()),
                new GenerateRequest("e", new int[] {3}, sampling, stop)
                        .withConstraint(ai.armature.protocol.OutputConstraint.jsonSchema("{\"type\":\"string\",\"maxLength\":3}")),
                new GenerateRequest("e2", new int[] {3}, sampling, stop).withConstraint(ai.armature.protocol.OutputConstraint.jsonObject()
                        .afterReasoning(new ai.armature.protocol.OutputConstraint.Reasoning("<think>", "</think>", true))),
                new GenerateRequest("e3", new int[] {3}, sampling, stop).withConstraint(ai.armature.protocol.OutputConstraint.jsonSchema("{}")
                        .afterReasoning(new ai.armature.protocol.OutputConstraint.Reasoning("<r>", "</r>", false))),
                new GenerateRequest("f~p", new int[] {1, 2}, sampling, StopConditions.maxTokens(1))
                        .withKvTransfer(new ai.armature.protocol.kv.KvTransfer.Hold("t-1")),
                new GenerateRequest("f", new int[] {1, 2, 3}, sampling, stop, 0, "salt", new Migration(1, 1, Set.of()))
                        .withKvTransfer(new ai.armature.protocol.kv.KvTransfer.Fetch("t-1", "prefill-1", "10.0.0.2:7000")))) {
            var bytes = RuntimeCodec.toProto(r).toByteArray();
            assertThat(RuntimeCodec.fromProto(ai.armature.runtime.proto.GenerateRequest.parseFrom(bytes))).isEqualTo(r);
        }
    }

    @Test
    void outputsRoundTrip() throws Exception {
        List<TokenLogprob> lps = List.of(new TokenLogprob(5, -0.25f, new int[] {5, 6}, new float[] {-0.25f, -1.5f}),
                new TokenLogprob(7, 0f, new int[0], new float[0]));
        for (GenerateOutput o : List.of(
                new GenerateOutput("r", new int[] {5, 7}, lps, null, new Usage(10, 4, 2), null),
                new GenerateOutput("r", new int[0], null, FinishReason.ERROR, new Usage(10, 0, 2), "the model failed"),
                GenerateOutput.failed("r", new Usage(10, 0, 2), GenerateOutput.ErrorKind.UNAVAILABLE, "no worker left"),
                GenerateOutput.failed("r", new Usage(10, 0, 0), GenerateOutput.ErrorKind.INVALID, "the prompt is too long"),
                new GenerateOutput("r", new int[] {1}, null, FinishReason.LENGTH, new Usage(1, 0, 1), null),
                new GenerateOutput("r", new int[0], List.of(), FinishReason.CANCELLED, new Usage(3, 0, 0), null),
                new GenerateOutput("r", new int[] {2}, null, null, new Usage(3, 0, 1), null, java.util.Arrays.asList(null,
                        new TokenLogprob(8, -1.5f, new int[] {9}, new float[] {-0.5f}, 2),
                        new TokenLogprob(4, Float.NEGATIVE_INFINITY, new int[0], new float[0], 3))))) {
            GenerateOutput back = RuntimeCodec.fromProto(ai.armature.runtime.proto.GenerateOutput.parseFrom(RuntimeCodec.toProto(o).toByteArray()));
            assertThat(back.requestId()).isEqualTo(o.requestId());
            assertThat(back.tokenIds()).containsExactly(o.tokenIds());
            assertThat(back.finishReason()).isEqualTo(o.finishReason());
            assertThat(back.usage()).isEqualTo(o.usage());
            assertThat(back.error()).isEqualTo(o.error());
            assertThat(back.errorKind()).isEqualTo(o.errorKind());
            if (o.logprobs() == null) assertThat(back.logprobs()).isNull();
            else assertThat(back.logprobs()).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(o.logprobs());
            if (o.promptLogprobs() == null) assertThat(back.promptLogprobs()).isNull();
            else assertThat(back.promptLogprobs()).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(o.promptLogprobs());
        }
    }

    @Test
    void anErrorFromAPeerThatSendsNoKindIsInternal() throws Exception {
        var old = RuntimeCodec.toProto(GenerateOutput.failed("r", new Usage(1, 0, 0), GenerateOutput.ErrorKind.UNAVAILABLE, "x")).toBuilder()
                .clearErrorKind().build();
        assertThat(RuntimeCodec.fromProto(ai.armature.runtime.proto.GenerateOutput.parseFrom(old.toByteArray())).errorKind())
                .isEqualTo(GenerateOutput.ErrorKind.INTERNAL);
        var done = RuntimeCodec.toProto(new GenerateOutput("r", new int[] {1}, null, FinishReason.STOP, new Usage(1, 0, 1), null));
        assertThat(RuntimeCodec.fromProto(done).errorKind()).isNull();
    }

    @Test
    void statsSnapshotsAndKvEventsRoundTrip() throws Exception {
        EngineStats s = new EngineStats(3, 4, 1000, 200, 50, 12345, 678, 4096, 99, 12.5, 3.25, 65536);
        assertThat(RuntimeCodec.fromProto(ai.armature.runtime.proto.EngineStats.parseFrom(RuntimeCodec.toProto(s).toByteArray()))).isEqualTo(s);
        KvCacheSnapshot snap = new KvCacheSnapshot(77, Map.of(KvTier.DEVICE, Set.of(-1L, 2L, Long.MIN_VALUE), KvTier.DISK, Set.of(9L)));
        assertThat(RuntimeCodec.fromProto(ai.armature.runtime.proto.KvCacheSnapshot.parseFrom(RuntimeCodec.toProto(snap).toByteArray())))
                .isEqualTo(snap);
        KvCacheSnapshot partial = new KvCacheSnapshot(78, Map.of(KvTier.DEVICE, Set.of(3L)), false);
        assertThat(RuntimeCodec.fromProto(ai.armature.runtime.proto.KvCacheSnapshot.parseFrom(RuntimeCodec.toProto(partial).toByteArray())))
                .isEqualTo(partial);
        for (KvEvent e : List.of(new KvEvent.BlockStored(1, -5L, 7L, 3, new int[] {1, 2, 3}, KvTier.HOST),
                new KvEvent.BlockRemoved(2, Long.MAX_VALUE, KvTier.DEVICE), new KvEvent.AllBlocksCleared(3))) {
            KvEvent back = RuntimeCodec.fromProto(ai.armature.runtime.proto.KvEvent.parseFrom(RuntimeCodec.toProto(e).toByteArray()));
            assertThat(back).usingRecursiveComparison().isEqualTo(e);
        }
    }

    @Test
    void modelCardsRoundTripThroughTheirJson() {
        ModelCard c = new ModelCard("worker-1", "llama 3.1/8b", "mock:h100", 8192, 16, ModelCard.ROLE_AGGREGATED, "127.0.0.1:5000",
                true, "http://127.0.0.1:9000/metrics", "ab".repeat(32), 9_000_000, true);
        String json = RuntimeCodec.toJson(c);
        assertThat(json).contains("\"servedModelName\":\"llama 3.1/8b\"");
        assertThat(RuntimeCodec.cardFromJson(json)).isEqualTo(c);
        assertThatThrownBy(() -> RuntimeCodec.cardFromJson("{\"workerId\": 5")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RuntimeCodec.cardFromJson("{}")).isInstanceOf(IllegalArgumentException.class);
    }
}
