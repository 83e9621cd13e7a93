package ai.armature.frontend;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * How one token is shown in logprobs: its text when its raw bytes are valid UTF-8 on their own, otherwise
 * {@code bytes:\xNN...} as OpenAI writes partial characters, so that two different byte tokens never look alike
 * (the {@code bytes} field carries the raw bytes either way, for a client to reassemble the UTF-8).
 */
final class TokenStrings {

    private TokenStrings() {
    }

    static String of(byte[] bytes) {
        CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            return strict.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder sb = new StringBuilder(6 + 4 * bytes.length).append("bytes:");
            for (byte b : bytes) sb.append("\\x").append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            return sb.toString();
        }
    }
}
