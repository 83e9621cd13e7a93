package ai.armature.protocol;

/**
 * Thrown by {@link GenerationStream#next()} when the worker running a request was lost after it accepted the
 * request: its process died, its connection broke, it stopped answering, or it drained and handed the request
 * back. The tokens already returned are valid; the rest was never produced. A migrating engine resubmits the
 * request elsewhere ({@link Migration}); without one, the request fails with this message.
 */
public class WorkerLostException extends RuntimeException {

    private final String workerId;

    public WorkerLostException(String workerId, String message, Throwable cause) {
        super(message, cause);
        this.workerId = workerId;
    }

    /** The id of the worker that was lost. */
    public String workerId() {
        return workerId;
    }
}
