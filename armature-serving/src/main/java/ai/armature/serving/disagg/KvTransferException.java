package ai.armature.serving.disagg;

/**
 * A KV transfer that did not complete: the source worker is gone or holds nothing under the id (expired), the
 * stream broke, a chunk was refused, or the deadline passed. {@code blocksReceived} says how many arrived before.
 * The decode worker then computes the rest itself; the request is not failed for it.
 */
public final class KvTransferException extends Exception {

    private final int blocksReceived;

    public KvTransferException(String message, int blocksReceived, Throwable cause) {
        super(message, cause);
        this.blocksReceived = blocksReceived;
    }

    public KvTransferException(String message, int blocksReceived) {
        this(message, blocksReceived, null);
    }

    public int blocksReceived() {
        return blocksReceived;
    }
}
