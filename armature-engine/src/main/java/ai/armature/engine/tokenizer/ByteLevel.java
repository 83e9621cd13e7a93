package ai.armature.engine.tokenizer;

import java.util.Arrays;

/**
 * The GPT-2 byte-to-character table of byte-level BPE vocabularies: every byte maps to one printable character
 * (printable Latin-1 bytes to themselves, the rest to U+0100 and up), so byte strings can be stored as text.
 */
final class ByteLevel {

    /** Character for each byte value. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** Byte for each character below U+0200, or -1 if the character is not a byte-level character. */
    static final int[] CHAR_TO_BYTE = new int[512];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {
    }

    /** The byte-level text of raw bytes. */
    static String encode(byte[] bytes) {
        char[] cs = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) cs[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(cs);
    }

    /**
     * The raw bytes a byte-level vocabulary entry stands for; characters outside the table (which well-formed
     * vocabularies do not contain) contribute their own UTF-8 bytes.
     */
    static byte[] decode(String token) {
        byte[] out = new byte[token.length() * 3];
        int n = 0;
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out[n++] = (byte) b;
            } else {
                int cp = token.codePointAt(i);
                if (Character.isSupplementaryCodePoint(cp)) i++;
                byte[] u = new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                if (n + u.length > out.length) out = Arrays.copyOf(out, out.length * 2 + u.length);
                System.arraycopy(u, 0, out, n, u.length);
                n += u.length;
            }
        }
        return Arrays.copyOf(out, n);
    }
}
