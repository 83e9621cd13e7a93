package ai.armature.upstream.kv;

import net.openhft.hashing.LongHashFunction;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ArrayValue;
import org.msgpack.value.MapValue;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decodes the msgpack payload of vLLM's and SGLang's ZMQ KV event messages into {@link EngineKvBatch}es. The frames
 * (topic, 8-byte big-endian sequence number, payload) are the subscriber's business; this reads the payload.
 *
 * <p>vLLM: {@code vllm/distributed/kv_events.py} (read at commit 0181ea3173e5). A batch is {@code EventBatch(ts,
 * events, data_parallel_rank)}; each event a msgspec struct tagged with its class name. The schema grew by appending
 * fields: {@code BlockStored(block_hashes, parent_block_hash, token_ids, block_size, lora_id)} in PR #16750 (the
 * first KV events), {@code medium} in #19737, {@code lora_name} in #27577, {@code extra_keys} (per-block extra hash
 * keys: multimodal ids, LoRA name, cache salt) in #33304, {@code group_idx} in #37688, {@code kv_cache_spec_kind} and
 * {@code kv_cache_spec_sliding_window} in #40984; {@code BlockRemoved(block_hashes, medium)},
 * {@code AllBlocksCleared()}. Until PR #42892 (merged 2026-06-09) structs were msgpack arrays ({@code array_like}:
 * an event is {@code [tag, field...]} with trailing default fields omitted); since then events, and at that commit
 * the batch too, are maps keyed by field name with the tag under {@code "type"}. Block hashes are
 * {@code ExternalBlockHash = bytes | int}: 64-bit integers, or hash bytes (folded here to 64 bits with XXH3).
 *
 * <p>SGLang: {@code python/sglang/srt/disaggregation/kv_events.py} (read at commit 612d579090db): array-encoded
 * {@code EventBatch(ts, events, attn_dp_rank)}, {@code BlockStored(block_hashes, parent_block_hash, token_ids,
 * block_size, lora_id)} and {@code BlockRemoved(block_hashes)}; its radix cache's event mixin
 * ({@code mem_cache}, {@code KVCacheEventMixin}) appends {@code medium} to both, emits one event per page with
 * chained 64-bit hashes, and {@code token_ids} of bigram (EAGLE) pages as pairs; position 7 of a stored event, where
 * vLLM has {@code lora_name}, is SGLang's {@code metadata} map (its {@code cache_salt}). Both encodings (arrays and
 * maps) are read for both engines, so an engine upgrade does not silently stop routing.
 */
public final class KvEventDecoder {

    /** Which engine's field order a positional event follows (they differ from position 7 on). */
    public enum Schema { VLLM, SGLANG }

    private static final LongHashFunction FOLD = LongHashFunction.xx3();

    private final Schema schema;

    public KvEventDecoder(Schema schema) {
        this.schema = schema;
    }

    /** Decodes one payload; throws {@link IOException} when it is not a KV event batch of this schema. */
    public EngineKvBatch decode(long sequence, byte[] payload) throws IOException {
        Value root;
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(payload)) {
            root = u.unpackValue();
        } catch (RuntimeException e) {
            throw new IOException("not msgpack: " + e.getMessage(), e);
        }
        double ts;
        Value eventsValue;
        int dpRank = -1;
        if (root.isArrayValue()) {
            ArrayValue a = root.asArrayValue();
            if (a.size() < 2) throw new IOException("an event batch array has at least [ts, events], got " + a.size() + " items");
            ts = number(a.get(0));
            eventsValue = a.get(1);
            if (a.size() > 2 && a.get(2).isIntegerValue()) dpRank = a.get(2).asIntegerValue().toInt();
        } else if (root.isMapValue()) {
            Map<Value, Value> m = root.asMapValue().map();
            ts = number(m.getOrDefault(key("ts"), ValueFactory.newFloat(0)));
            eventsValue = m.get(key("events"));
            Value rank = m.getOrDefault(key("data_parallel_rank"), m.get(key("attn_dp_rank")));
            if (rank != null && rank.isIntegerValue()) dpRank = rank.asIntegerValue().toInt();
        } else {
            throw new IOException("an event batch is an array or a map, got " + root.getValueType());
        }
        if (eventsValue == null || !eventsValue.isArrayValue()) throw new IOException("an event batch has no events array");
        List<EngineKvEvent> events = new ArrayList<>();
        for (Value e : eventsValue.asArrayValue()) {
            EngineKvEvent ev = event(e);
            if (ev != null) events.add(ev);
        }
        return new EngineKvBatch(sequence, ts, dpRank, events);
    }

    /** One event, or null for an event type this decoder does not know (newer engines may add some). */
    private EngineKvEvent event(Value e) throws IOException {
        Fields f;
        if (e.isArrayValue()) f = new Positional(e.asArrayValue());
        else if (e.isMapValue()) f = new Named(e.asMapValue());
        else throw new IOException("a KV event is an array or a map, got " + e.getValueType());
        String tag = f.tag();
        switch (tag) {
            case "BlockStored" -> {
                long[] hashes = hashes(f.get(1, "block_hashes"));
                Value parent = f.get(2, "parent_block_hash");
                Value tokens = f.get(3, "token_ids");
                Value blockSize = f.get(4, "block_size");
                Value loraId = f.get(5, "lora_id");
                Value medium = f.get(6, "medium");
                if (tokens == null || !tokens.isArrayValue()) throw new IOException("BlockStored without token_ids");
                boolean indexable = isNil(loraId);
                int[] ids = new int[tokens.asArrayValue().size()];
                int i = 0;
                for (Value t : tokens.asArrayValue()) {
                    if (t.isIntegerValue()) ids[i++] = t.asIntegerValue().toInt();
                    else indexable = false; // SGLang's bigram pages give token pairs
                }
                String salt = null;
                if (schema == Schema.VLLM) {
                    indexable &= isNil(f.get(7, "lora_name"));
                    Value extra = f.get(8, "extra_keys");
                    if (!isNil(extra)) for (Value k : extra.asArrayValue()) indexable &= isNil(k);
                    Value group = f.get(9, "group_idx");
                    if (!isNil(group) && group.asIntegerValue().toInt() != 0) indexable = false;
                } else {
                    Value meta = f.get(7, "metadata");
                    if (meta != null && meta.isMapValue()) {
                        Value s = meta.asMapValue().map().get(key("cache_salt"));
                        if (s != null && s.isStringValue()) salt = s.asStringValue().asString();
                    }
                }
                int size = blockSize != null && blockSize.isIntegerValue() ? blockSize.asIntegerValue().toInt() : 0;
                if (size <= 0 && hashes.length > 0) size = ids.length / hashes.length;
                return new EngineKvEvent.Stored(hashes, isNil(parent) ? null : hash(parent), ids, size, string(medium), salt, indexable);
            }
            case "BlockRemoved" -> {
                return new EngineKvEvent.Removed(hashes(f.get(1, "block_hashes")), string(f.get(2, "medium")));
            }
            case "AllBlocksCleared" -> {
                return new EngineKvEvent.Cleared();
            }
            default -> {
                return null;
            }
        }
    }

    /** An event's fields by position (array encoding; position 0 is the tag) or by name (map encoding). */
    private interface Fields {
        String tag() throws IOException;

        Value get(int position, String name);
    }

    private record Positional(ArrayValue a) implements Fields {
        public String tag() throws IOException {
            if (a.size() == 0 || !a.get(0).isStringValue()) throw new IOException("a positional KV event starts with its type name");
            return a.get(0).asStringValue().asString();
        }

        public Value get(int position, String name) {
            return position < a.size() ? a.get(position) : null;
        }
    }

    private record Named(MapValue m) implements Fields {
        public String tag() throws IOException {
            Value t = m.map().get(key("type"));
            if (t == null || !t.isStringValue()) throw new IOException("a KV event map names its type under \"type\"");
            return t.asStringValue().asString();
        }

        public Value get(int position, String name) {
            return m.map().get(key(name));
        }
    }

    private static long[] hashes(Value v) throws IOException {
        if (v == null || !v.isArrayValue()) throw new IOException("a KV event without block_hashes");
        long[] out = new long[v.asArrayValue().size()];
        int i = 0;
        for (Value h : v.asArrayValue()) out[i++] = hash(h);
        return out;
    }

    private static long hash(Value h) throws IOException {
        if (h.isIntegerValue()) return h.asIntegerValue().toLong(); // uint64 values keep their bits
        if (h.isBinaryValue()) return FOLD.hashBytes(h.asBinaryValue().asByteArray());
        throw new IOException("a block hash is an integer or bytes, got " + h.getValueType());
    }

    private static boolean isNil(Value v) {
        return v == null || v.isNilValue();
    }

    private static String string(Value v) {
        return v != null && v.isStringValue() ? v.asStringValue().asString() : null;
    }

    private static double number(Value v) {
        if (v.isFloatValue()) return v.asFloatValue().toDouble();
        if (v.isIntegerValue()) return v.asIntegerValue().toLong();
        return 0;
    }

    private static Value key(String s) {
        return ValueFactory.newString(s);
    }
}
