package ai.armature.protocol;

import java.util.List;

/**
 * One item of a request's output stream: the tokens generated since the previous item (possibly none), their
 * logprobs when requested (one per token, else null), and the cumulative usage. The last item of every stream
 * has a non-null {@code finishReason}; {@code error} is set only with {@link FinishReason#ERROR}. When the request
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
        List<TokenLogprob> promptLogprobs) {

    public GenerateOutput(String requestId, int[] tokenIds, List<TokenLogprob> logprobs, FinishReason finishReason,
                          Usage usage, String error) {
        this(requestId, tokenIds, logprobs, finishReason, usage, error, null);
    }

    public boolean finished() {
        return finishReason != null;
    }
}
