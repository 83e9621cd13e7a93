package ai.armature.engine.grammar;

/** JSON string quoting for error messages and literals. */
final class JsonQuote {
    private static final com.fasterxml.jackson.core.io.JsonStringEncoder ENC = com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance();

    private JsonQuote() {
    }

    static String quote(String s) {
        return "\"" + new String(ENC.quoteAsString(s)) + "\"";
    }
}
