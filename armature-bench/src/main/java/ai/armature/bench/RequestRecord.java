package ai.armature.bench;

/**
 * What was measured for one request. Times are nanoseconds; offsets are relative to the start of the run.
 * Token counts come from the server's {@code usage} (-1 when it did not report them).
 *
 * <p>Inter-token latency: {@code chunkGapsNanos[i]} is the time between content chunk i and chunk i+1 as they
 * arrived. A server may pack several tokens into one chunk; when usage reports T output tokens over K content
 * chunks (T > K), each gap is spread evenly over the (T-1)/(K-1) tokens it delivered: {@link #itlNanos(int)}
 * divides it by that ratio. With one token per chunk the ITL samples are exactly the chunk gaps.
 *
 * @param startOffsetNanos     when the request was sent
 * @param scheduledOffsetNanos when it was due (open loop and trace replay), -1 for closed loop
 * @param ttftNanos            time to the first non-empty content chunk, -1 if none arrived
 * @param e2eNanos             time to the end of the stream (or to the failure)
 * @param error                null on success
 */
public record RequestRecord(long index, String tag, Endpoint endpoint, long startOffsetNanos,
                            long scheduledOffsetNanos, long ttftNanos, long e2eNanos, long[] chunkGapsNanos,
                            int contentChunks, int promptTokens, int completionTokens, int cachedTokens,
                            int requestedPromptTokens, int requestedOutputTokens, ErrorKind error, int httpStatus,
                            String errorMessage) {

    public boolean ok() {
        return error == null;
    }

    /** Output tokens: usage's count, or the number of content chunks when usage was not reported. */
    public int outputTokens() {
        return completionTokens >= 0 ? completionTokens : contentChunks;
    }

    /** Tokens each chunk gap stands for (see the class comment). */
    public double tokensPerGap() {
        int gaps = contentChunks - 1;
        int tokenGaps = outputTokens() - 1;
        return gaps > 0 && tokenGaps > gaps ? (double) tokenGaps / gaps : 1.0;
    }

    /** The i-th inter-token latency sample in nanoseconds. */
    public long itlNanos(int i) {
        return Math.round(chunkGapsNanos[i] / tokensPerGap());
    }

    /**
     * Mean time per output token after the first ({@code (e2e - ttft) / (tokens - 1)}), -1 when undefined; this is
     * the per-request figure the ITL SLO is checked against.
     */
    public long meanItlNanos() {
        int out = outputTokens();
        if (ttftNanos < 0 || out < 2) {
            return -1;
        }
        return (e2eNanos - ttftNanos) / (out - 1);
    }

    /** The error's report key, null on success. */
    public String errorKey() {
        return error == null ? null : error.key(httpStatus);
    }
}
