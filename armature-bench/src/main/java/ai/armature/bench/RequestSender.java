package ai.armature.bench;

/**
 * Sends one request and measures it; {@link OpenAiClient} does it over HTTP. Times in the result are relative to
 * {@code runStartNanos} on the run's {@link BenchClock}. Never throws for server trouble: failures come back as a
 * record with an {@link ErrorKind}.
 */
public interface RequestSender {

    /**
     * @param endpoint             where to send it
     * @param index                the request's number in the run (-1 outside a run)
     * @param scheduledOffsetNanos when it was due, -1 if not scheduled
     * @param keepText             collect the streamed text (multi-turn needs it for the history)
     */
    OpenAiClient.Result send(RequestSpec spec, Endpoint endpoint, long index, long runStartNanos, long scheduledOffsetNanos,
                             boolean keepText);
}
