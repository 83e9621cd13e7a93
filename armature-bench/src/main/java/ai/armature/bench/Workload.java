package ai.armature.bench;

/**
 * A source of conversations. Implementations are deterministic for a given seed. {@link #next()} is called from
 * several threads and must be safe for that (the implementations synchronise).
 */
public interface Workload {

    /** The next conversation, or {@code null} when the workload is exhausted (infinite workloads never return null). */
    Conversation next();

    /** The endpoint this workload's requests are shaped for. */
    Endpoint endpoint();

    /** How many requests the whole workload holds, or -1 when it is unbounded. */
    long totalRequests();

    /** Whether later turns need the text of earlier replies (then the client keeps the streamed text). */
    default boolean usesReplies() {
        return false;
    }

    /** A short description for reports. */
    String describe();
}
