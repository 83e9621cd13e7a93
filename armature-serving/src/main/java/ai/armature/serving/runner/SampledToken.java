package ai.armature.serving.runner;

import ai.armature.protocol.TokenLogprob;

/** The token a runner chose at the end of a sampling chunk, and its logprobs when the sequence asked for them (else null). */
public record SampledToken(int tokenId, TokenLogprob logprob) {
}
