package ai.armature.protocol;

/** Why a sequence ended: a stop/EOS token (STOP), the token limit (LENGTH), a cancel (CANCELLED), or a failure (ERROR). */
public enum FinishReason {
    STOP, LENGTH, CANCELLED, ERROR;

    /** The OpenAI API's name for it ({@code stop}, {@code length}, ...). */
    public String apiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
