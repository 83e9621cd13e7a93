package ai.armature.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;

/**
 * What byte-level BPE and SentencePiece tokenizers share: atomic-token splitting, BOS/EOS, and decoding from
 * per-token byte pieces (full and streaming, with one rule for both so they always agree). Subclasses encode
 * plain text fragments and say what bytes each token stands for.
 */
abstract sealed class BaseTokenizer implements Tokenizer permits BpeTokenizer, SentencePieceTokenizer, WordPieceTokenizer {

    protected final Vocabulary vocab;
    private final SpecialTokenMatcher matcher;
    /** Bytes each token decodes to when it is rendered. */
    private final byte[][] pieces;

    protected BaseTokenizer(Vocabulary vocab, BitSet lstrip, BitSet rstrip) {
        this.vocab = vocab;
        this.matcher = new SpecialTokenMatcher(vocab, lstrip, rstrip);
        this.pieces = new byte[vocab.size()][];
    }

    /** Fills the decode table; subclasses call it at the end of their constructor. */
    protected final void initPieces() {
        for (int id = 0; id < pieces.length; id++) {
            TokenType t = vocab.types[id];
            pieces[id] = switch (t) {
                case CONTROL, UNKNOWN, USER_DEFINED -> vocab.texts[id].getBytes(StandardCharsets.UTF_8);
                default -> pieceBytes(id);
            };
        }
    }

    /** The bytes of an ordinary (normal or byte) token. */
    protected abstract byte[] pieceBytes(int id);

    /**
     * Encodes one fragment of plain text (no atomic tokens in it).
     *
     * @param afterAtomic whether the fragment starts the text or follows an atomic token (SentencePiece prefixes
     *                    a space there)
     */
    protected abstract void encodeFragment(String text, int start, int end, boolean afterAtomic, IntList out);

    /** Whether a full decode drops one leading space of the first rendered piece (SentencePiece's prefix). */
    protected abstract boolean stripsLeadingSpace();

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos && vocab.bos >= 0) out.add(vocab.bos);
        matcher.split(text, parseSpecial, new SpecialTokenMatcher.Sink() {
            boolean afterAtomic = true;

            @Override
            public void text(int start, int end) {
                encodeFragment(text, start, end, afterAtomic, out);
                afterAtomic = false;
            }

            @Override
            public void token(int id) {
                out.add(id);
                afterAtomic = true;
            }
        });
        if (addBos && vocab.addEos) out.add(vocab.eos);
        return out.toArray();
    }

    @Override
    public String decode(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(ids.length * 4);
        boolean atStart = true;
        for (int id : ids) {
            atStart = appendPiece(buf, id, renderSpecial, atStart);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Appends the bytes of {@code id}; returns the new at-start state (true until something was rendered). */
    private boolean appendPiece(ByteArrayOutputStream buf, int id, boolean renderSpecial, boolean atStart) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (size " + pieces.length + ")");
        }
        if (!renderSpecial && vocab.isSpecial(id)) return atStart;
        byte[] p = pieces[id];
        if (p.length == 0) return atStart;
        int from = atStart && stripsLeadingSpace() && p[0] == ' ' && !vocab.isSpecial(id) ? 1 : 0;
        buf.write(p, from, p.length - from);
        return false;
    }

    @Override
    public StreamingDetokenizer streamingDetokenizer(boolean renderSpecial) {
        return new Streaming(renderSpecial, true);
    }

    /**
     * Decoding is a concatenation of per-token bytes, except that a SentencePiece-style leading space is dropped
     * from the first piece rendered: so a continuation decodes exactly like its context's tail when it starts
     * after something rendered, and the context's incomplete last character (at most 3 bytes) is carried over.
     */
    @Override
    public StreamingDetokenizer streamingDetokenizer(int[] context, boolean renderSpecial) {
        boolean atStart = true;
        for (int id : context) {
            if (renders(id, renderSpecial)) {
                atStart = false;
                break;
            }
        }
        Streaming s = new Streaming(renderSpecial, atStart);
        if (!atStart) s.carryIncompleteTail(context);
        return s;
    }

    private boolean renders(int id, boolean renderSpecial) {
        checkId(id);
        return (renderSpecial || !vocab.isSpecial(id)) && pieces[id].length > 0;
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (size " + pieces.length + ")");
        }
    }

    @Override
    public int[] endOfGenerationIds() {
        int[] ids = new int[8];
        int n = 0;
        for (int id = 0; id < vocab.size(); id++) {
            if (!vocab.isEndOfGeneration(id)) continue;
            if (n == ids.length) ids = java.util.Arrays.copyOf(ids, n * 2);
            ids[n++] = id;
        }
        return java.util.Arrays.copyOf(ids, n);
    }

    /** Holds back only a trailing incomplete UTF-8 sequence; everything before it is final. */
    private final class Streaming implements StreamingDetokenizer {
        private final boolean renderSpecial;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private boolean atStart;

        Streaming(boolean renderSpecial, boolean atStart) {
            this.renderSpecial = renderSpecial;
            this.atStart = atStart;
        }

        /** Starts with the bytes of a character the context's last rendered pieces leave incomplete. */
        void carryIncompleteTail(int[] context) {
            ByteArrayOutputStream tail = new ByteArrayOutputStream();
            int i = context.length - 1;
            // Pieces from the end until at least 4 bytes are seen: an incomplete character is at most 3 bytes long.
            java.util.ArrayDeque<byte[]> parts = new java.util.ArrayDeque<>();
            int bytes = 0;
            for (; i >= 0 && bytes < 4; i--) {
                if (!renders(context[i], renderSpecial)) continue;
                parts.addFirst(pieces[context[i]]);
                bytes += pieces[context[i]].length;
            }
            for (byte[] p : parts) tail.writeBytes(p);
            byte[] b = tail.toByteArray();
            int cut = Utf8.completePrefixLength(b, b.length);
            pending.write(b, cut, b.length - cut);
        }

        @Override
        public String accept(int tokenId) {
            atStart = appendPiece(pending, tokenId, renderSpecial, atStart);
            if (pending.size() == 0) return "";
            byte[] b = pending.toByteArray();
            int cut = Utf8.completePrefixLength(b, b.length);
            if (cut == 0) return "";
            String s = new String(b, 0, cut, StandardCharsets.UTF_8);
            pending.reset();
            pending.write(b, cut, b.length - cut);
            return s;
        }

        @Override
        public String flush() {
            String s = pending.toString(StandardCharsets.UTF_8);
            pending.reset();
            return s;
        }
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public int bosTokenId() {
        return vocab.bos;
    }

    @Override
    public int eosTokenId() {
        return vocab.eos;
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return vocab.isEndOfGeneration(id);
    }

    @Override
    public boolean addBosByDefault() {
        return vocab.addBos;
    }

    @Override
    public String tokenText(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (size " + vocab.size() + ")");
        }
        return vocab.texts[id];
    }

    @Override
    public int tokenId(String tokenText) {
        return vocab.id(tokenText);
    }

    @Override
    public byte[] tokenBytes(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (size " + pieces.length + ")");
        }
        return vocab.isSpecial(id) ? new byte[0] : pieces[id].clone();
    }

    /** The type of vocabulary entry {@code id}. */
    public TokenType tokenType(int id) {
        return vocab.types[id];
    }
}
