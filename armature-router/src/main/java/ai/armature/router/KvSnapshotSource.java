package ai.armature.router;

import java.util.concurrent.CompletableFuture;

import ai.armature.protocol.kv.KvCacheSnapshot;

/**
 * Where the router gets a worker's whole cached-block set after a gap in its KV events: in one process the worker's
 * block manager (on its engine thread), across processes the runtime's Snapshot call. Asynchronous so no router
 * lock is held while a worker answers; the future may also complete on the calling thread.
 */
@FunctionalInterface
public interface KvSnapshotSource {

    /** The worker's cached block hashes and the id of the last KV event reflected in them. */
    CompletableFuture<KvCacheSnapshot> snapshot();
}
