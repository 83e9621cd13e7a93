package ai.armature.protocol;

/**
 * A request refused before it started: the message says what was wrong and what to do; the reason lets a frontend
 * map it to the right status (400, 429, 503).
 */
public class RequestRejectedException extends RuntimeException {

    /** Why a request was refused. */
    public enum Reason { INVALID, PROMPT_TOO_LONG, QUEUE_FULL, SHUTTING_DOWN }

    private final Reason reason;

    public RequestRejectedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
