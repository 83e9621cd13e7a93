package ai.armature.frontend;

import ai.armature.engine.tokenizer.StreamingDetokenizer;
import ai.armature.engine.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A tiny byte-level tokenizer for tests: ids 0-255 are bytes, then BOS {@code <s>}, EOS {@code </s>} and the chat
 * markers {@code <|im_start|>} / {@code <|im_end|>} (an end-of-generation token), recognised in text only with
 * parseSpecial.
 */
final class ByteTokenizer implements Tokenizer {

    static final int BOS = 256, EOS = 257, IM_START = 258, IM_END = 259;
    private static final String[] SPECIAL = {"<s>", "</s>", "<|im_start|>", "<|im_end|>"};

    private final boolean addBos;

    ByteTokenizer(boolean addBos) {
        this.addBos = addBos;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        if (addBos) out.add(BOS);
        int i = 0;
        StringBuilder plain = new StringBuilder();
        while (i < text.length()) {
            int special = -1;
            if (parseSpecial) {
                for (int s = 0; s < SPECIAL.length; s++) if (text.startsWith(SPECIAL[s], i)) special = s;
            }
            if (special >= 0) {
                for (byte b : plain.toString().getBytes(StandardCharsets.UTF_8)) out.add(b & 0xff);
                plain.setLength(0);
                out.add(256 + special);
                i += SPECIAL[special].length();
            } else {
                plain.append(text.charAt(i++));
            }
        }
        for (byte b : plain.toString().getBytes(StandardCharsets.UTF_8)) out.add(b & 0xff);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String decode(int[] ids, boolean renderSpecial) {
        StringBuilder sb = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 256) {
                bytes.write(id);
            } else {
                sb.append(utf8(bytes.toByteArray()));
                bytes.reset();
                if (renderSpecial) sb.append(SPECIAL[id - 256]);
            }
        }
        return sb.append(utf8(bytes.toByteArray())).toString();
    }

    static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public StreamingDetokenizer streamingDetokenizer(boolean renderSpecial) {
        return new StreamingDetokenizer() {
            private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

            @Override
            public String accept(int id) {
                if (id >= 256) {
                    String held = flush();
                    return renderSpecial ? held + SPECIAL[id - 256] : held;
                }
                pending.write(id);
                byte[] b = pending.toByteArray();
                int lead = b[0] & 0xff;
                int need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (b.length < need) return "";
                return flush();
            }

            @Override
            public String flush() {
                String s = utf8(pending.toByteArray());
                pending.reset();
                return s;
            }
        };
    }

    @Override
    public byte[] tokenBytes(int id) {
        return id < 256 ? new byte[] {(byte) id} : new byte[0];
    }

    @Override
    public int vocabSize() {
        return 260;
    }

    @Override
    public int bosTokenId() {
        return BOS;
    }

    @Override
    public int eosTokenId() {
        return EOS;
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return id == EOS || id == IM_END;
    }

    @Override
    public boolean addBosByDefault() {
        return addBos;
    }

    @Override
    public String tokenText(int id) {
        return id >= 256 ? SPECIAL[id - 256] : String.valueOf((char) id);
    }

    @Override
    public int tokenId(String tokenText) {
        for (int s = 0; s < SPECIAL.length; s++) if (SPECIAL[s].equals(tokenText)) return 256 + s;
        return tokenText.length() == 1 && tokenText.charAt(0) < 256 ? tokenText.charAt(0) : -1;
    }
}
