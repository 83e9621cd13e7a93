package ai.armature.engine.chat;

/** A chat template refused a conversation or failed to render it; the message is fit to return to the client (HTTP 400). */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
