package ai.armature.engine.tokenizer;

/** UTF-8 boundary checks for the streaming detokenizer. */
final class Utf8 {
    private Utf8() {
    }

    /**
     * The length of the longest prefix of {@code b[0..n)} after which nothing can change how the bytes decode:
     * everything except a trailing sequence that is a valid but incomplete start of one UTF-8 character.
     */
    static int completePrefixLength(byte[] b, int n) {
        // Look back at most 3 bytes for the lead byte of a possibly incomplete final character.
        for (int back = 1; back <= 3 && back <= n; back++) {
            int lead = b[n - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? (lead <= 0xEF ? 3 : 0) : lead >= 0xC2 ? 2 : 0;
            if (need == 0 || back >= need) return n; // ASCII, invalid lead, or complete: all final
            if (back >= 2 && !validSecond(lead, b[n - back + 1] & 0xFF)) return n; // already malformed
            return n - back;
        }
        return n;
    }

    private static boolean validSecond(int lead, int second) {
        return switch (lead) {
            case 0xE0 -> second >= 0xA0 && second <= 0xBF;
            case 0xED -> second >= 0x80 && second <= 0x9F;
            case 0xF0 -> second >= 0x90 && second <= 0xBF;
            case 0xF4 -> second >= 0x80 && second <= 0x8F;
            default -> second >= 0x80 && second <= 0xBF;
        };
    }
}
