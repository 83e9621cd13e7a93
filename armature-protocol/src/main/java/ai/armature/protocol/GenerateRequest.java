package ai.armature.protocol;

import java.util.Arrays;
import java.util.Objects;

/**
 * One generation request as it crosses from the frontend to a worker: tokens, not text. {@code priority}: higher
 * runs first and is preempted last. {@code cacheSalt} isolates prefix-cache sharing (requests with different
 * salts never share KV blocks); null means the default namespace. {@code promptTokens} is never modified.
 */
public record GenerateRequest(
        String requestId,
        int[] promptTokens,
        SamplingParams sampling,
        StopConditions stop,
        int priority,
        String cacheSalt) {

    public GenerateRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(stop, "stop");
        if (promptTokens.length == 0) throw new IllegalArgumentException("the prompt must contain at least one token");
    }

    public GenerateRequest(String requestId, int[] promptTokens, SamplingParams sampling, StopConditions stop) {
        this(requestId, promptTokens, sampling, stop, 0, null);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerateRequest r && r.requestId.equals(requestId) && Arrays.equals(r.promptTokens, promptTokens)
                && r.sampling.equals(sampling) && r.stop.equals(stop) && r.priority == priority
                && Objects.equals(r.cacheSalt, cacheSalt);
    }

    @Override
    public int hashCode() {
        return Objects.hash(requestId, Arrays.hashCode(promptTokens), sampling, stop, priority, cacheSalt);
    }

    @Override
    public String toString() {
        return "GenerateRequest[" + requestId + ", " + promptTokens.length + " prompt tokens, " + sampling + ", " + stop
                + ", priority=" + priority + ", cacheSalt=" + cacheSalt + "]";
    }
}
