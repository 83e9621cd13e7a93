package ai.armature.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds atomic tokens (control and user-defined entries) in text, leftmost first and longest at a position, so
 * the text around them can be tokenized normally. Control tokens are candidates only when special-token parsing
 * is asked for; user-defined tokens always are, as in the reference tokenizers.
 */
final class SpecialTokenMatcher {

    /** Receives the pieces of a split: raw text ranges and matched token ids, in order. */
    interface Sink {
        void text(int start, int end);

        void token(int id);
    }

    private record Candidate(String text, int id, boolean control, boolean lstrip, boolean rstrip) {
    }

    private final BitSet firstChars = new BitSet(65536);
    private final Map<Character, Candidate[]> byFirstChar = new HashMap<>();
    private final boolean anyUserDefined;

    /**
     * @param lstrip ids whose match also swallows whitespace to its left (Hugging Face {@code lstrip}); may be null
     * @param rstrip ids whose match also swallows whitespace to its right; may be null
     */
    SpecialTokenMatcher(Vocabulary vocab, BitSet lstrip, BitSet rstrip) {
        Map<Character, List<Candidate>> lists = new HashMap<>();
        boolean user = false;
        for (int id = 0; id < vocab.size(); id++) {
            TokenType t = vocab.types[id];
            boolean control = t == TokenType.CONTROL || t == TokenType.UNKNOWN;
            if (!control && t != TokenType.USER_DEFINED) continue;
            String text = vocab.texts[id];
            if (text.isEmpty() || vocab.id(text) != id) continue;
            user |= !control;
            Candidate c = new Candidate(text, id, control, lstrip != null && lstrip.get(id), rstrip != null && rstrip.get(id));
            lists.computeIfAbsent(text.charAt(0), k -> new ArrayList<>()).add(c);
            firstChars.set(text.charAt(0));
        }
        for (var e : lists.entrySet()) {
            Candidate[] cs = e.getValue().toArray(new Candidate[0]);
            Arrays.sort(cs, Comparator.comparingInt((Candidate c) -> c.text.length()).reversed());
            byFirstChar.put(e.getKey(), cs);
        }
        this.anyUserDefined = user;
    }

    /** Splits {@code text} into raw ranges and atomic tokens. */
    void split(String text, boolean parseSpecial, Sink sink) {
        int n = text.length();
        if (byFirstChar.isEmpty() || (!parseSpecial && !anyUserDefined)) {
            if (n > 0) sink.text(0, n);
            return;
        }
        int textStart = 0;
        int i = 0;
        while (i < n) {
            char ch = text.charAt(i);
            if (!firstChars.get(ch)) {
                i++;
                continue;
            }
            Candidate hit = null;
            for (Candidate c : byFirstChar.get(ch)) {
                if ((parseSpecial || !c.control) && text.startsWith(c.text, i)) {
                    hit = c;
                    break;
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int rawEnd = i;
            if (hit.lstrip) {
                while (rawEnd > textStart && Character.isWhitespace(text.charAt(rawEnd - 1))) rawEnd--;
            }
            if (rawEnd > textStart) sink.text(textStart, rawEnd);
            sink.token(hit.id);
            i += hit.text.length();
            if (hit.rstrip) {
                while (i < n && Character.isWhitespace(text.charAt(i))) i++;
            }
            textStart = i;
        }
        if (textStart < n) sink.text(textStart, n);
    }
}
