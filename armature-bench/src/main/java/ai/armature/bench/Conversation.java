package ai.armature.bench;

/**
 * A unit of work the load generator runs on one logical client: a single request for the one-shot workloads, a
 * sequence of turns for multi-turn (each turn may depend on the reply to the previous one).
 */
public interface Conversation {

    /**
     * The next request, or {@code null} when the conversation is over.
     *
     * @param previousReply the text the server streamed for the previous turn, {@code null} before the first turn
     *                      or when the previous turn failed
     */
    RequestSpec next(String previousReply);

    /** Pause between receiving a reply and sending the next turn. */
    default long thinkTimeNanos() {
        return 0;
    }

    /** When to start this conversation, in nanoseconds from the start of the run; negative when the load shape decides. */
    default long scheduledOffsetNanos() {
        return -1;
    }

    /** A conversation of exactly one request. */
    static Conversation single(RequestSpec spec, long scheduledOffsetNanos) {
        return new Conversation() {
            private boolean sent;

            @Override
            public RequestSpec next(String previousReply) {
                if (sent) {
                    return null;
                }
                sent = true;
                return spec;
            }

            @Override
            public long scheduledOffsetNanos() {
                return scheduledOffsetNanos;
            }
        };
    }
}
