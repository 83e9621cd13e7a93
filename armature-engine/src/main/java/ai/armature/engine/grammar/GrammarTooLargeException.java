package ai.armature.engine.grammar;

/** The grammar a schema needs exceeds what is compiled (automaton states); the message says which limit. */
public final class GrammarTooLargeException extends GrammarException {
    public GrammarTooLargeException(String message) {
        super(message);
    }
}
