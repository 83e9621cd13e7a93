package ai.armature.engine.grammar;

/**
 * A constraint that cannot be compiled: an unsupported or invalid schema or pattern. The message names what is
 * wrong and where (a JSON pointer into the schema), fit to show a user as a 400.
 */
public class GrammarException extends RuntimeException {
    public GrammarException(String message) {
        super(message, null, false, false);
    }
}
