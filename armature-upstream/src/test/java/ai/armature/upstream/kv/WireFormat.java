package ai.armature.upstream.kv;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

import java.io.IOException;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes KV event payloads the way vLLM's and SGLang's publishers do (msgspec structs: positional arrays tagged with
 * the class name before vLLM PR #42892, maps with a "type" key after), from plain values: lists, maps, strings,
 * numbers, byte arrays, null. Test fixtures only.
 */
final class WireFormat {

    private WireFormat() {
    }

    static byte[] pack(Object value) throws IOException {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            write(p, value);
            return p.toByteArray();
        }
    }

    private static void write(MessageBufferPacker p, Object v) throws IOException {
        switch (v) {
            case null -> p.packNil();
            case String s -> p.packString(s);
            case Integer i -> p.packInt(i);
            case Long l -> p.packLong(l);
            case BigInteger b -> p.packBigInteger(b);
            case Double d -> p.packDouble(d);
            case Boolean b -> p.packBoolean(b);
            case byte[] b -> {
                p.packBinaryHeader(b.length);
                p.writePayload(b);
            }
            case int[] a -> {
                p.packArrayHeader(a.length);
                for (int x : a) p.packInt(x);
            }
            case List<?> l -> {
                p.packArrayHeader(l.size());
                for (Object o : l) write(p, o);
            }
            case Map<?, ?> m -> {
                p.packMapHeader(m.size());
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    write(p, e.getKey());
                    write(p, e.getValue());
                }
            }
            default -> throw new IllegalArgumentException("cannot pack " + v.getClass());
        }
    }

    /** An ordered map from alternating keys and values. */
    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** vLLM before #42892: [ts, [events], dp_rank] with events [tag, fields...]. */
    static byte[] vllmArrayBatch(List<Object> events) throws IOException {
        return pack(List.of(1.7e9, events, 0));
    }

    static List<Object> vllmStoredArray(List<Object> hashes, Object parent, int[] tokens, int blockSize) {
        return java.util.Arrays.asList("BlockStored", hashes, parent, tokens, blockSize, null, "GPU");
    }

    /** vLLM at commit 0181ea3: the batch and its events as maps. */
    static byte[] vllmMapBatch(List<Object> events) throws IOException {
        return pack(map("ts", 1.7e9, "events", events, "data_parallel_rank", 0));
    }

    static Map<String, Object> vllmStoredMap(List<Object> hashes, Object parent, int[] tokens, int blockSize) {
        return map("type", "BlockStored", "block_hashes", hashes, "parent_block_hash", parent, "token_ids", tokens,
                "block_size", blockSize, "lora_id", null, "medium", "GPU", "lora_name", null, "extra_keys", null,
                "group_idx", 0, "kv_cache_spec_kind", "full_attention");
    }

    /** SGLang: [ts, [events], attn_dp_rank], one BlockStored per page with medium; removals [tag, hashes, medium]. */
    static byte[] sglangBatch(List<Object> events) throws IOException {
        return pack(List.of(1.7e9, events, 0));
    }

    static List<Object> sglangStored(long hash, Long parent, int[] tokens) {
        return java.util.Arrays.asList("BlockStored", List.of(hash), parent, tokens, tokens.length, null, "GPU");
    }
}
