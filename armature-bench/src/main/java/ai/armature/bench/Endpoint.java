package ai.armature.bench;

/**
 * The OpenAI-compatible endpoint a request goes to: {@code /v1/completions} takes a raw prompt,
 * {@code /v1/chat/completions} takes messages (the server applies its chat template).
 */
public enum Endpoint {
    COMPLETIONS("/v1/completions"),
    CHAT("/v1/chat/completions");

    private final String path;

    Endpoint(String path) {
        this.path = path;
    }

    public String path() {
        return path;
    }

    /** Parses {@code completions} or {@code chat}. */
    public static Endpoint parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "completions", "completion" -> COMPLETIONS;
            case "chat", "chat-completions" -> CHAT;
            default -> throw new IllegalArgumentException("unknown endpoint '" + s + "': use completions or chat");
        };
    }
}
