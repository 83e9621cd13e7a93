package ai.armature.protocol;

import java.util.List;

/**
 * One item of a request's output stream: the tokens generated since the previous item (possibly none), their
 * logprobs when requested (one per token, else null), and the cumulative usage. The last item of every stream
 * has a non-null {@code finishReason}; {@code error} is set only with {@link FinishReason#ERROR}.
 */
public record GenerateOutput(
        String requestId,
        int[] tokenIds,
        List<TokenLogprob> logprobs,
        FinishReason finishReason,
        Usage usage,
        String error) {

    public boolean finished() {
        return finishReason != null;
    }
}
