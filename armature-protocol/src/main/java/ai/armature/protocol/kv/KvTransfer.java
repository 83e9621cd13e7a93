package ai.armature.protocol.kv;

import java.util.Objects;

/**
 * A request's part in moving KV blocks between workers (disaggregated prefill and decode). A router sends the
 * request first to a prefill worker with {@link Hold} (and one token to generate): that worker computes the prompt
 * (reusing its own prefix cache) and the first token, and then keeps the K/V of the prompt's full blocks under the
 * transfer id instead of letting them go. The router then sends the request, with that first token appended as
 * already generated, to a decode worker with {@link Fetch}: before computing anything, the decode worker pulls
 * the held blocks it does not cache already from the prefill worker and puts them in its own prefix cache, so it
 * computes only the prompt's last (partial) block and continues. A fetch that fails or times out leaves the rest to
 * be computed on the decode worker: the request completes either way.
 */
public sealed interface KvTransfer {

    /** The transfer's id: unique per request attempt (the prefill worker's hold is looked up by it). */
    String transferId();

    /**
     * Prefill side: after its one generated token, the worker keeps the prompt's full blocks under
     * {@code transferId} until a decode worker fetched them or the hold expires (its {@code --kv-transfer-timeout}).
     * A request that ends otherwise (an end-of-generation token, an error, a cancellation) holds nothing.
     */
    record Hold(String transferId) implements KvTransfer {
        public Hold {
            requireId(transferId);
        }
    }

    /**
     * Decode side: before computing, fetch the prompt's full blocks that worker {@code sourceWorkerId} holds under
     * {@code transferId}; {@code sourceAddress} is where that worker's request plane listens ({@code host:port}),
     * empty when both run in one process.
     */
    record Fetch(String transferId, String sourceWorkerId, String sourceAddress) implements KvTransfer {
        public Fetch {
            requireId(transferId);
            Objects.requireNonNull(sourceWorkerId, "sourceWorkerId");
            sourceAddress = sourceAddress == null ? "" : sourceAddress;
        }
    }

    private static void requireId(String id) {
        Objects.requireNonNull(id, "transferId");
        if (id.isBlank()) throw new IllegalArgumentException("a KV transfer needs an id");
    }
}
