package ai.armature.serving.runner;

import java.util.random.RandomGenerator;

import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.TokenLogprob;

/**
 * One sequence's share of a step: compute positions {@code [start, start + count)} whose token ids are
 * {@code tokens[start .. start + count)}, then, if {@code sample}, choose the token at position {@code start + count}.
 *
 * <ul>
 *   <li>{@code sequenceId}: unique per sequence for the engine's lifetime (a preempted sequence keeps its id).</li>
 *   <li>{@code tokens}: the sequence's tokens so far, prompt first then generated; only {@code [0, length)} is
 *       meaningful (the array may be longer). {@code length >= start + count}; when {@code sample},
 *       {@code length == start + count}. Read-only for the runner.</li>
 *   <li>{@code promptLength}: how many of the tokens are the client's prompt; {@code tokens[promptLength, length)}
 *       were generated, here or, for a migrated request, by the workers before (the history for presence/frequency
 *       penalties; repetition penalty looks at all of them).</li>
 *   <li>{@code blockTable}: the sequence's KV block ids, block {@code i} holding positions {@code [i*B, (i+1)*B)}
 *       for the block size B given to {@link ModelRunner#allocateKvCache}; at least
 *       {@code ceil((start + count) / B)} entries are valid (entries past that are unspecified). Read-only.</li>
 *   <li>{@code sampling}, {@code random}: the request's parameters and its own generator. The runner must draw
 *       every random number for this sequence from {@code random} (and from nothing else), so that the same seed
 *       gives the same tokens whatever else is in the batch. The engine positions the generator at the sampled
 *       position before each step, so its draws depend only on the seed and the position (a migrated request
 *       continues identically on another worker). Greedy sampling draws nothing.</li>
 *   <li>{@code allowed}: for a constrained request (structured output) that samples this step, the tokens it may
 *       choose; null when unconstrained. See {@link AllowedTokens}.</li>
 *   <li>{@code forbiddenTokens}: when not null, token ids the runner must not sample at this step (the worker's
 *       end-of-generation ids and the request's stop ids while fewer than {@code min_tokens} were generated).
 *       Read-only.</li>
 *   <li>{@code promptLogprobsOut}: when not null, the request wants prompt logprobs
 *       ({@code sampling.promptLogprobs()} alternatives each): for every computed position {@code p} with
 *       {@code p + 1 < promptLength}, the runner stores in element {@code p + 1} the logprob of prompt token
 *       {@code tokens[p + 1]} given the positions up to {@code p}, with its rank. This is the one array a runner
 *       writes.</li>
 * </ul>
 * Positions below {@code start} already hold valid K/V in the blocks of the table (computed in earlier steps,
 * possibly by another sequence with the same prefix, i.e. a prefix-cache hit).
 */
public record ScheduledSequence(
        long sequenceId,
        int[] tokens,
        int length,
        int promptLength,
        int start,
        int count,
        int[] blockTable,
        boolean sample,
        SamplingParams sampling,
        RandomGenerator random,
        AllowedTokens allowed,
        int[] forbiddenTokens,
        TokenLogprob[] promptLogprobsOut) {

    /** A share with no constraint, nothing forbidden and no prompt logprobs. */
    public ScheduledSequence(long sequenceId, int[] tokens, int length, int promptLength, int start, int count,
                             int[] blockTable, boolean sample, SamplingParams sampling, RandomGenerator random) {
        this(sequenceId, tokens, length, promptLength, start, count, blockTable, sample, sampling, random, null, null, null);
    }

    /** A share with a constraint only. */
    public ScheduledSequence(long sequenceId, int[] tokens, int length, int promptLength, int start, int count,
                             int[] blockTable, boolean sample, SamplingParams sampling, RandomGenerator random,
                             AllowedTokens allowed) {
        this(sequenceId, tokens, length, promptLength, start, count, blockTable, sample, sampling, random, allowed, null, null);
    }

    /** The KV slot of position {@code pos} for block size {@code blockSize}. */
    public int slot(int pos, int blockSize) {
        return blockTable[pos / blockSize] * blockSize + pos % blockSize;
    }

    /** How many top alternatives to report with the sampled token, or -1 for no logprobs. */
    public int logprobs() {
        return sampling.logprobs();
    }
}
