package ai.armature.frontend;

import ai.armature.protocol.SamplingParams;

import java.util.List;

/**
 * The generation parameters of one chat or completions request after validation: streaming options, choices per
 * prompt, the token limit asked for (null: whatever the context leaves), sampling (with the seed the first choice
 * uses; choice {@code i} uses seed + i), stop strings, whether EOS is ignored, and how many top logprobs to report
 * per token (-1: none).
 */
record GenerationParams(
        boolean stream,
        boolean includeUsage,
        int n,
        Integer maxTokens,
        SamplingParams sampling,
        List<String> stop,
        boolean ignoreEos,
        int logprobs) {

    boolean wantsLogprobs() {
        return logprobs >= 0;
    }
}
