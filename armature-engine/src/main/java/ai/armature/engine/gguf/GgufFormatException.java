package ai.armature.engine.gguf;

/**
 * A GGUF file that cannot be used: malformed, truncated, inconsistent, or asking for something Armature does not
 * support. The message says what is wrong; readers prefix it with the file's path.
 */
public class GgufFormatException extends RuntimeException {
    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
