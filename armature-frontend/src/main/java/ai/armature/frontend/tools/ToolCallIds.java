package ai.armature.frontend.tools;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Tool-call ids: as OpenAI writes them ("call_" and 24 random alphanumerics), or as Mistral's templates require
 * them (exactly 9 alphanumerics; its template refuses any other id when the call comes back in the history).
 */
public final class ToolCallIds {
    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private ToolCallIds() {
    }

    public static String next() {
        return random("call_", 24);
    }

    /** A Mistral tool-call id: 9 alphanumerics. */
    public static String mistral() {
        return random("", 9);
    }

    private static String random(String prefix, int n) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        StringBuilder b = new StringBuilder(prefix);
        for (int i = 0; i < n; i++) b.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        return b.toString();
    }
}
