package ai.armature.router;

import java.util.Objects;

import ai.armature.protocol.GenerationEngine;

/**
 * One worker as the router sees it: its id (unique among the router's workers), the size of its KV blocks in
 * tokens and the namespace its block hashes are salted with (the model name its runner reports, see
 * {@code BlockHasher}), whether it publishes KV events (exact mode) or not (approximate mode: the router assumes it
 * caches what it was sent), its role, the engine requests are submitted to (an in-process worker, a request-plane
 * client, an upstream engine adapter), and where to fetch a snapshot of its cache after an event gap (null: none;
 * the router then drops the worker's entries and starts over from the next event).
 */
public record WorkerEndpoint(
        String id,
        int kvBlockSize,
        String kvNamespace,
        boolean publishesKvEvents,
        WorkerRole role,
        GenerationEngine engine,
        KvSnapshotSource snapshots) {

    public WorkerEndpoint {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kvNamespace, "kvNamespace");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(engine, "engine");
        if (id.isBlank()) throw new IllegalArgumentException("a worker id must not be blank");
        if (kvBlockSize < 1) throw new IllegalArgumentException("the KV block size must be >= 1, got " + kvBlockSize);
    }

    /** An aggregated worker without a snapshot source. */
    public WorkerEndpoint(String id, int kvBlockSize, String kvNamespace, boolean publishesKvEvents, GenerationEngine engine) {
        this(id, kvBlockSize, kvNamespace, publishesKvEvents, WorkerRole.AGGREGATED, engine, null);
    }
}
