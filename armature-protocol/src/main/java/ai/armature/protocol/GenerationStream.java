package ai.armature.protocol;

/**
 * The output of one submitted request, read by one consumer with blocking calls (fit for a virtual thread per
 * request). {@link #next()} returns items until, and including, the one whose finish reason is set; after that
 * it returns null. {@link #close()} cancels the request if it has not finished, freeing its resources.
 */
public interface GenerationStream extends AutoCloseable {

    String requestId();

    /** The next output, blocking until there is one; null once the finished item has been returned. */
    GenerateOutput next() throws InterruptedException;

    @Override
    void close();
}
