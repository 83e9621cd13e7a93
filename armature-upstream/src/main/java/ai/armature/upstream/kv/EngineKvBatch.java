package ai.armature.upstream.kv;

import java.util.List;

/**
 * One message of an engine's KV event stream: its sequence number (the 8-byte big-endian frame, starting at 0 and
 * increasing by one per batch), the engine's timestamp, its data-parallel rank (-1 if absent) and its events.
 */
public record EngineKvBatch(long sequence, double timestamp, int dpRank, List<EngineKvEvent> events) {
}
