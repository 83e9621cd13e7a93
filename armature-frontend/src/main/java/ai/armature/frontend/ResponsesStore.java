package ai.armature.frontend;

import com.fasterxml.jackson.databind.node.ArrayNode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Responses API's stored responses, in memory: per response id its conversation as chat messages (the input
 * of every turn so far and the outputs, without instructions, which do not carry over to the next turn) for
 * {@code previous_response_id}, and its response body for {@code GET /v1/responses/{id}}. Holds at most
 * {@code capacity} responses; beyond that the least recently used is dropped. Thread-safe.
 */
final class ResponsesStore {

    /** One stored response. */
    record Stored(ArrayNode conversation, byte[] body) {
    }

    private final int capacity;
    private final Map<String, Stored> entries;

    ResponsesStore(int capacity) {
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Stored> eldest) {
                return size() > ResponsesStore.this.capacity;
            }
        };
    }

    synchronized void put(String id, Stored stored) {
        if (capacity > 0) entries.put(id, stored);
    }

    /** The stored response, or null when it was never stored or has been dropped. */
    synchronized Stored get(String id) {
        return entries.get(id);
    }

    synchronized boolean remove(String id) {
        return entries.remove(id) != null;
    }
}
