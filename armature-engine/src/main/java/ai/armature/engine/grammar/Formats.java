package ai.armature.engine.grammar;

/**
 * Regular expressions for the string formats structured output generates (RFC 3339 dates and times). They accept
 * only real calendar dates; February ends at the 28th (leap days are left out rather than checked).
 */
final class Formats {
    private Formats() {
    }

    static final String DATE = "[1-9][0-9]{3}-((01|03|05|07|08|10|12)-(0[1-9]|[12][0-9]|3[01])|(04|06|09|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))";
    static final String TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
}
