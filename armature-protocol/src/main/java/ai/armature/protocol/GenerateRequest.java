package ai.armature.protocol;

import java.util.Arrays;
import java.util.Objects;

import ai.armature.protocol.kv.KvTransfer;

/**
 * One generation request as it crosses from the frontend to a worker: tokens, not text. {@code priority}: higher
 * runs first and is preempted last. {@code cacheSalt} isolates prefix-cache sharing (requests with different
 * salts never share KV blocks); null means the default namespace. {@code migration} is null for a new request and
 * says, for a request resumed on another worker, how many trailing prompt tokens were generated before (see
 * {@link Migration}). {@code constraint}, when not null, limits what may be generated (structured output: the
 * worker masks every token the constraint does not allow; a resumed request's generated tokens already count
 * against it). {@code kvTransfer}, when not null, makes the request one half of a disaggregated prefill and decode
 * (see {@link KvTransfer}). {@code promptTokens} is never modified.
 */
public record GenerateRequest(
        String requestId,
        int[] promptTokens,
        SamplingParams sampling,
        StopConditions stop,
        int priority,
        String cacheSalt,
        Migration migration,
        OutputConstraint constraint,
        KvTransfer kvTransfer) {

    public GenerateRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(stop, "stop");
        if (promptTokens.length == 0) throw new IllegalArgumentException("the prompt must contain at least one token");
        if (migration != null && migration.generatedTokens() >= promptTokens.length) {
            throw new IllegalArgumentException("a resumed request keeps at least one original prompt token, got "
                    + migration.generatedTokens() + " generated of " + promptTokens.length);
        }
    }

    public GenerateRequest(String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop, int priority,
                           String cacheSalt, Migration migration, OutputConstraint constraint) {
        this(requestId, promptTokens, sampling, stop, priority, cacheSalt, migration, constraint, null);
    }

    public GenerateRequest(String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop, int priority,
                           String cacheSalt, Migration migration) {
        this(requestId, promptTokens, sampling, stop, priority, cacheSalt, migration, null, null);
    }

    public GenerateRequest(String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop, int priority,
                           String cacheSalt) {
        this(requestId, promptTokens, sampling, stop, priority, cacheSalt, null, null, null);
    }

    public GenerateRequest(String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop) {
        this(requestId, promptTokens, sampling, stop, 0, null, null, null, null);
    }

    /** The same request with {@code c} as its constraint. */
    public GenerateRequest withConstraint(OutputConstraint c) {
        return new GenerateRequest(requestId, promptTokens, sampling, stop, priority, cacheSalt, migration, c, kvTransfer);
    }

    /** The same request with {@code t} as its part in a KV transfer (null: none). */
    public GenerateRequest withKvTransfer(KvTransfer t) {
        return new GenerateRequest(requestId, promptTokens, sampling, stop, priority, cacheSalt, migration, constraint, t);
    }

    /** How many trailing prompt tokens earlier attempts generated (0 for a new request). */
    public int priorGeneratedTokens() {
        return migration == null ? 0 : migration.generatedTokens();
    }

    /** The original prompt's length: the prompt without the tokens earlier attempts generated. */
    public int originalPromptLength() {
        return promptTokens.length - priorGeneratedTokens();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerateRequest r && r.requestId.equals(requestId) && Arrays.equals(r.promptTokens, promptTokens)
                && r.sampling.equals(sampling) && r.stop.equals(stop) && r.priority == priority
                && Objects.equals(r.cacheSalt, cacheSalt) && Objects.equals(r.migration, migration)
                && Objects.equals(r.constraint, constraint) && Objects.equals(r.kvTransfer, kvTransfer);
    }

    @Override
    public int hashCode() {
        return Objects.hash(requestId, Arrays.hashCode(promptTokens), sampling, stop, priority, cacheSalt, migration, constraint, kvTransfer);
    }

    @Override
    public String toString() {
        return "GenerateRequest[" + requestId + ", " + promptTokens.length + " prompt tokens, " + sampling + ", " + stop
                + ", priority=" + priority + ", cacheSalt=" + cacheSalt + (migration == null ? "" : ", " + migration)
                + (constraint == null ? "" : ", constraint=" + constraint) + (kvTransfer == null ? "" : ", " + kvTransfer) + "]";
    }
}
