package ai.armature.upstream.kv;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;

import static ai.armature.upstream.kv.WireFormat.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Decoding vLLM's and SGLang's KV event payloads in each encoding they have used. */
class KvEventDecoderTest {

    private final KvEventDecoder vllm = new KvEventDecoder(KvEventDecoder.Schema.VLLM);
    private final KvEventDecoder sglang = new KvEventDecoder(KvEventDecoder.Schema.SGLANG);

    @Test
    void vllmArrayEncoding() throws IOException {
        BigInteger big = new BigInteger("18446744073709551615"); // uint64 max: keeps its bits as -1
        byte[] payload = WireFormat.vllmArrayBatch(List.of(
                WireFormat.vllmStoredArray(List.of(11L, big), null, new int[] {1, 2, 3, 4}, 2),
                Arrays.asList("BlockRemoved", List.of(11L), "GPU"),
                List.of("AllBlocksCleared")));
        EngineKvBatch b = vllm.decode(7, payload);
        assertThat(b.sequence()).isEqualTo(7);
        assertThat(b.dpRank()).isZero();
        assertThat(b.events()).hasSize(3);
        EngineKvEvent.Stored s = (EngineKvEvent.Stored) b.events().get(0);
        assertThat(s.blockHashes()).containsExactly(11L, -1L);
        assertThat(s.parentHash()).isNull();
        assertThat(s.tokenIds()).containsExactly(1, 2, 3, 4);
        assertThat(s.blockSize()).isEqualTo(2);
        assertThat(s.medium()).isEqualTo("GPU");
        assertThat(s.indexable()).isTrue();
        assertThat(((EngineKvEvent.Removed) b.events().get(1)).blockHashes()).containsExactly(11L);
        assertThat(b.events().get(2)).isInstanceOf(EngineKvEvent.Cleared.class);
    }

    @Test
    void vllmMapEncodingAndByteHashes() throws IOException {
        byte[] hashBytes = new byte[32];
        hashBytes[0] = 42;
        byte[] payload = WireFormat.vllmMapBatch(List.of(
                WireFormat.vllmStoredMap(List.of(hashBytes), 5L, new int[] {9, 9}, 2),
                map("type", "BlockRemoved", "block_hashes", List.of(hashBytes), "medium", "CPU", "group_idx", 0),
                map("type", "SomethingNew", "x", 1)));
        EngineKvBatch b = vllm.decode(0, payload);
        assertThat(b.events()).hasSize(2); // unknown event types are skipped
        EngineKvEvent.Stored s = (EngineKvEvent.Stored) b.events().get(0);
        EngineKvEvent.Removed r = (EngineKvEvent.Removed) b.events().get(1);
        assertThat(s.blockHashes()[0]).isEqualTo(r.blockHashes()[0]); // the same bytes fold to the same hash
        assertThat(s.parentHash()).isEqualTo(5L);
        assertThat(r.medium()).isEqualTo("CPU");
    }

    @Test
    void blocksOfAdaptersOrWithExtraKeysOrOtherGroupsAreNotIndexable() throws IOException {
        var lora = WireFormat.vllmStoredMap(List.of(1L), null, new int[] {1}, 1);
        lora.put("lora_name", "my-adapter");
        var extra = WireFormat.vllmStoredMap(List.of(2L), null, new int[] {1}, 1);
        extra.put("extra_keys", List.of(List.of("mm-hash-abc")));
        var group = WireFormat.vllmStoredMap(List.of(3L), null, new int[] {1}, 1);
        group.put("group_idx", 1);
        EngineKvBatch b = vllm.decode(0, WireFormat.vllmMapBatch(List.of(lora, extra, group)));
        assertThat(b.events()).allSatisfy(e -> assertThat(((EngineKvEvent.Stored) e).indexable()).isFalse());
    }

    @Test
    void sglangPagesMediumSaltAndBigrams() throws IOException {
        List<Object> salted = new java.util.ArrayList<>(WireFormat.sglangStored(8L, 7L, new int[] {4}));
        salted.add(map("cache_salt", "tenant-a"));
        List<Object> bigram = Arrays.asList("BlockStored", List.of(9L), null, List.of(List.of(1, 2)), 1, null, "GPU");
        EngineKvBatch b = sglang.decode(3, WireFormat.sglangBatch(List.of(
                WireFormat.sglangStored(7L, null, new int[] {3}), salted, bigram, Arrays.asList("BlockRemoved", List.of(7L), "GPU"))));
        assertThat(b.events()).hasSize(4);
        assertThat(((EngineKvEvent.Stored) b.events().get(0)).blockSize()).isEqualTo(1);
        assertThat(((EngineKvEvent.Stored) b.events().get(1)).cacheSalt()).isEqualTo("tenant-a");
        assertThat(((EngineKvEvent.Stored) b.events().get(2)).indexable()).isFalse();
        // SGLang's early events had no medium: [tag, hashes] and a batch without a rank
        EngineKvBatch old = sglang.decode(0, WireFormat.pack(List.of(1.0, List.of(List.of("BlockRemoved", List.of(7L))))));
        assertThat(old.dpRank()).isEqualTo(-1);
        assertThat(((EngineKvEvent.Removed) old.events().getFirst()).medium()).isNull();
    }

    @Test
    void whatIsNotABatchIsAnError() {
        assertThatThrownBy(() -> vllm.decode(0, new byte[] {(byte) 0xc1})).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> vllm.decode(0, WireFormat.pack("hello"))).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> vllm.decode(0, WireFormat.pack(List.of(1.0, List.of(List.of(5)))))).isInstanceOf(IOException.class);
    }
}
