package ai.armature.frontend.tools;

import java.util.concurrent.ThreadLocalRandom;

/** Tool-call ids as OpenAI writes them: "call_" and 24 random alphanumerics. */
public final class ToolCallIds {
    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private ToolCallIds() {
    }

    public static String next() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        StringBuilder b = new StringBuilder("call_");
        for (int i = 0; i < 24; i++) b.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        return b.toString();
    }
}
