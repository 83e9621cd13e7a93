package ai.armature.sim;

import java.util.Objects;

/**
 * One request a simulated workload sends: its id, prompt tokens, how many tokens to generate (generation ignores
 * end-of-sequence tokens and stops at exactly this many, or at the context limit) and when it arrives.
 */
public record SimRequest(String id, int[] promptTokens, int maxTokens, long arrivalNanos) {

    public SimRequest {
        Objects.requireNonNull(id, "id");
        if (promptTokens.length == 0) throw new IllegalArgumentException("a request needs at least one prompt token");
        if (maxTokens < 1) throw new IllegalArgumentException("a request must generate at least one token");
    }
}
