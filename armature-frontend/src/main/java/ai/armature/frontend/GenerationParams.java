package ai.armature.frontend;

import ai.armature.protocol.OutputConstraint;
import ai.armature.protocol.SamplingParams;

import java.util.List;

/**
 * The generation parameters of one chat or completions request after validation: streaming options, choices per
 * prompt, the token limit asked for (null: whatever the context leaves), sampling (with the seed the first choice
 * uses; choice {@code i} uses seed + i), stop strings, the user's stop token ids (never the model's end ids: the
 * worker owns those), whether EOS is ignored, the fewest tokens to generate before any stop, and how many top
 * logprobs to report per token (-1: none). {@code returnTokenIds} and {@code tokensAsIds} are vLLM's extensions
 * {@code return_token_ids} (each choice also carries its prompt's and its generated token ids) and
 * {@code return_tokens_as_token_ids} (logprob entries name tokens {@code "token_id:N"}): what an Armature in front of
 * this server as an upstream uses. {@code echo} (completions) puts the prompt before each choice's text (and, with
 * logprobs, its tokens' logprobs before the completion's; {@code maxTokens} 0 then returns only the prompt), and
 * {@code promptLogprobs} is vLLM's {@code prompt_logprobs}: that many top logprobs for every prompt token (-1: none).
 */
record GenerationParams(
        boolean stream,
        boolean includeUsage,
        int n,
        Integer maxTokens,
        SamplingParams sampling,
        List<String> stop,
        int[] stopTokenIds,
        boolean ignoreEos,
        int minTokens,
        int logprobs,
        boolean returnTokenIds,
        boolean tokensAsIds,
        OutputConstraint constraint,
        boolean echo,
        int promptLogprobs) {

    boolean wantsLogprobs() {
        return logprobs >= 0;
    }
}
