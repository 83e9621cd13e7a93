package ai.armature.bench;

/** One message of a chat conversation as sent to {@code /v1/chat/completions}. */
public record ChatMessage(String role, String content) {
}
