package ai.armature.protocol;

import java.util.List;

/**
 * One item of a request's output stream: the tokens generated since the previous item (possibly none), their
 * logprobs when requested (one per token, else null), and the cumulative usage. The last item of every stream
 * has a non-null {@code finishReason}; {@code error} and {@code errorKind} are set only with {@link FinishReason#ERROR}
 * (an ERROR output always has a kind: {@link ErrorKind#INTERNAL} unless its producer says otherwise). When the request
 * asked for {@linkplain SamplingParams#promptLogprobs() prompt logprobs}, the first item that carries tokens (or
 * the final one) also carries {@code promptLogprobs}: one entry per prompt token, the first null (nothing precedes
 * it); otherwise that field is null.
 */
public record GenerateOutput(
        String requestId,
        int[] tokenIds,
        List<TokenLogprob> logprobs,
        FinishReason finishReason,
        Usage usage,
        String error,
        List<TokenLogprob> promptLogprobs,
        ErrorKind errorKind) {

    /**
     * What kind of failure ended a request, so that a frontend answers with the right status: the system failed
     * (INTERNAL, 500), no worker could run or continue it now and a retry later may succeed (UNAVAILABLE, 503), or
     * the request itself cannot be served, found out only after it was accepted, e.g. while it waited for a worker
     * (INVALID, 400).
     */
    public enum ErrorKind {
        INTERNAL, UNAVAILABLE, INVALID;

        /** The kind of a failure that a worker's refusal caused. */
        public static ErrorKind of(RequestRejectedException.Reason reason) {
            return switch (reason) {
                case INVALID, PROMPT_TOO_LONG -> INVALID;
                case QUEUE_FULL, SHUTTING_DOWN -> UNAVAILABLE;
            };
        }
    }

    public GenerateOutput {
        if (finishReason == FinishReason.ERROR) {
            if (errorKind == null) errorKind = ErrorKind.INTERNAL;
        } else if (errorKind != null) {
            throw new IllegalArgumentException("an error kind (" + errorKind + ") on an output that did not fail (" + finishReason + ")");
        }
    }

    public GenerateOutput(String requestId, int[] tokenIds, List<TokenLogprob> logprobs, FinishReason finishReason,
                          Usage usage, String error, List<TokenLogprob> promptLogprobs) {
        this(requestId, tokenIds, logprobs, finishReason, usage, error, promptLogprobs, null);
    }

    public GenerateOutput(String requestId, int[] tokenIds, List<TokenLogprob> logprobs, FinishReason finishReason,
                          Usage usage, String error) {
        this(requestId, tokenIds, logprobs, finishReason, usage, error, null, null);
    }

    /** The last output of a request that failed: no tokens, {@code usage} so far, and why. */
    public static GenerateOutput failed(String requestId, Usage usage, ErrorKind kind, String message) {
        return new GenerateOutput(requestId, new int[0], null, FinishReason.ERROR, usage, message, null, kind);
    }

    public boolean finished() {
        return finishReason != null;
    }
}
