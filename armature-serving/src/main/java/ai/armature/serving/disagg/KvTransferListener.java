package ai.armature.serving.disagg;

/**
 * Hears how a decode worker's KV transfers went (for metrics and logs): blocks received and how long it took, and
 * transfers that fell short, after which the worker computed the rest of the prompt itself. Called on the
 * transfer's thread; implementations are thread-safe and quick.
 */
public interface KvTransferListener {

    KvTransferListener NONE = new KvTransferListener() {
        @Override
        public void received(int blocks, long bytes, double seconds) {
        }

        @Override
        public void fellBack(String reason, int blocksReceived) {
        }
    };

    /** A transfer ended (completely or not) after {@code blocks} blocks, {@code bytes} bytes, in {@code seconds}. */
    void received(int blocks, long bytes, double seconds);

    /** A transfer failed or timed out after {@code blocksReceived} blocks: the worker computes the rest locally. */
    void fellBack(String reason, int blocksReceived);
}
