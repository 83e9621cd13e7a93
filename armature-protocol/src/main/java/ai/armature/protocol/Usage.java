package ai.armature.protocol;

/** Token accounting of one request so far: prompt tokens, how many of them came from the prefix cache, generated tokens. */
public record Usage(int promptTokens, int cachedPromptTokens, int completionTokens) {
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
