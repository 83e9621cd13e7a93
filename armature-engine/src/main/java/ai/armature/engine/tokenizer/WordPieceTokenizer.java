package ai.armature.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * BERT WordPiece (GGUF {@code bert} kind), as llama.cpp stores it: word-initial pieces carry a U+2581 prefix and
 * continuation pieces none. Text is lower-cased, NFD-decomposed with accents dropped, split on whitespace and
 * around punctuation and CJK ideographs, and each word is matched greedily longest-first; a word with no match at
 * some position becomes the unknown token.
 */
final class WordPieceTokenizer extends BaseTokenizer {

    private static final char SPACE_MARK = '\u2581';
    private final TokenTable table;
    private final int maxTokenLength;

    WordPieceTokenizer(Vocabulary vocab) {
        super(vocab, null, null);
        this.table = new TokenTable(vocab.texts);
        int max = 1;
        for (String t : vocab.texts) max = Math.max(max, t.length());
        this.maxTokenLength = max;
        initPieces();
    }

    @Override
    protected byte[] pieceBytes(int id) {
        return vocab.texts[id].replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected boolean stripsLeadingSpace() {
        return true;
    }

    @Override
    protected void encodeFragment(String text, int start, int end, boolean afterAtomic, IntList out) {
        for (String word : words(text.substring(start, end))) encodeWord(SPACE_MARK + word, out);
    }

    /** BERT's basic tokenizer: lower case, strip accents, split on whitespace, punctuation and CJK ideographs. */
    static List<String> words(String text) {
        StringBuilder lower = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> lower.appendCodePoint(Character.toLowerCase(cp)));
        String nfd = Normalizer.normalize(lower, Normalizer.Form.NFD);
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < nfd.length(); ) {
            int cp = nfd.codePointAt(i);
            i += Character.charCount(cp);
            if (UnicodeClass.isWhiteSpace(cp)) {
                flush(word, words);
                continue;
            }
            int type = Character.getType(cp);
            if (cp == 0 || cp == 0xFFFD || type == Character.NON_SPACING_MARK || isControl(type)) continue;
            if (isPunctuation(cp, type) || isCjk(cp)) {
                flush(word, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                word.appendCodePoint(cp);
            }
        }
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    private static boolean isControl(int type) {
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    private static boolean isPunctuation(int cp, int type) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
        return switch (type) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** Greedy longest-match of one word (with its U+2581 prefix); the unknown token if it cannot be covered. */
    private void encodeWord(String w, IntList out) {
        int before = out.size();
        int i = 0;
        int n = w.length();
        while (i < n) {
            int found = -1;
            int foundEnd = i;
            for (int j = Math.min(n, i + maxTokenLength); j > i; j--) {
                if (j < n && Character.isLowSurrogate(w.charAt(j))) continue; // never split a surrogate pair
                int id = table.id(w, i, j);
                if (id >= 0) {
                    found = id;
                    foundEnd = j;
                    break;
                }
            }
            if (found < 0) {
                while (out.size() > before) out.removeLast();
                if (vocab.unk >= 0) out.add(vocab.unk);
                return;
            }
            out.add(found);
            i = foundEnd;
        }
    }
}
