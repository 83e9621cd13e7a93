package ai.armature.bench;

import java.util.List;

/**
 * One request a workload wants sent: either a raw prompt (completions) or a message list (chat), the number of
 * output tokens to ask for, and the prompt size the workload aimed at (so the report can set requested against
 * what the server counted).
 *
 * @param prompt                 the prompt text; for chat workloads the messages joined (used when the endpoint
 *                               is overridden to completions)
 * @param messages               the chat messages; for completion workloads one user message holding the prompt
 * @param maxTokens              output tokens to request (sent as {@code max_tokens} and {@code min_tokens})
 * @param requestedPromptTokens  prompt tokens the workload aimed at
 * @param tag                    a short label (group, user/turn, trace line) kept in the per-request results
 */
public record RequestSpec(Endpoint preferredEndpoint, String prompt, List<ChatMessage> messages, int maxTokens,
                          int requestedPromptTokens, String tag) {

    /** A completions request with one prompt. */
    public static RequestSpec completion(String prompt, int maxTokens, int requestedPromptTokens, String tag) {
        return new RequestSpec(Endpoint.COMPLETIONS, prompt, List.of(new ChatMessage("user", prompt)), maxTokens,
                requestedPromptTokens, tag);
    }

    /** A chat request over a conversation history. */
    public static RequestSpec chat(List<ChatMessage> messages, int maxTokens, int requestedPromptTokens, String tag) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append(m.content());
        }
        return new RequestSpec(Endpoint.CHAT, sb.toString(), List.copyOf(messages), maxTokens, requestedPromptTokens,
                tag);
    }
}
