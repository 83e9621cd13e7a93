package ai.armature.runtime.request;

/**
 * What a worker's request plane serves to decode workers ({@code FetchKv}): the KV blocks it holds for transfers
 * (see {@link ai.armature.protocol.kv.KvTransfer}), as encoded payloads in the worker's own format (layout and
 * checksum included: the request plane only moves bytes). The worker implements it over its engine. Thread-safe.
 */
public interface HeldKvSource {

    /** Claims the hold {@code transferId} for reading; null if there is none (never made, expired, claimed). */
    Held claim(String transferId) throws InterruptedException;

    /** Drops a hold without reading it. */
    void release(String transferId);

    /** A claimed hold; closing it releases the blocks. */
    interface Held extends AutoCloseable {

        /** Blocks held (the prompt's leading full blocks). */
        int count();

        /** Bytes of K/V per block. */
        long blockBytes();

        /** The encoded payload of held blocks {@code [from, from + count)}. */
        byte[] read(int from, int count);

        @Override
        void close();
    }
}
