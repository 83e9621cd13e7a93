package ai.armature.router.load;

import java.util.Objects;

/**
 * What one router tells its replicas about the load it puts on workers, so that every replica's load view counts
 * every replica's requests. Keyed by the publishing router's id; a replica that goes silent for longer than the
 * peer TTL (no event, not even a heartbeat) is presumed gone and its requests stop counting.
 */
public sealed interface LoadEvent {

    /** The router that published the event. */
    String routerId();

    /**
     * A request was sent to {@code workerId}: {@code promptTokens} long, {@code cachedTokens} of them predicted cached
     * there. {@code approxBlockHashes}: the prompt's block hashes when the worker is approximate (publishes no KV
     * events), so replicas record the same blocks; empty otherwise.
     */
    record Routed(String routerId, String requestId, String workerId, int promptTokens, int cachedTokens,
                  long[] approxBlockHashes) implements LoadEvent {
        public Routed {
            Objects.requireNonNull(routerId, "routerId");
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(workerId, "workerId");
            approxBlockHashes = approxBlockHashes == null ? new long[0] : approxBlockHashes;
        }
    }

    /** The request's first token arrived: its prefill is done, it now decodes. */
    record FirstToken(String routerId, String requestId) implements LoadEvent {
    }

    /** The request ended (finished, failed or cancelled): it no longer loads its worker. */
    record Finished(String routerId, String requestId) implements LoadEvent {
    }

    /** The router is alive (published periodically, so replicas can expire one that died). */
    record Heartbeat(String routerId) implements LoadEvent {
    }

    /** The router is shutting down: its requests stop counting at once. */
    record Left(String routerId) implements LoadEvent {
    }
}
