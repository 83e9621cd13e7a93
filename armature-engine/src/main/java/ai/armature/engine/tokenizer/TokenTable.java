package ai.armature.engine.tokenizer;

import java.util.Arrays;

/**
 * Looks up vocabulary ids by a range of characters without building a String: open addressing over ids with a
 * hash of the characters, compared in place. Used where the merge loops probe the vocabulary many times per word.
 */
final class TokenTable {
    private final String[] texts;
    private final int[] slots;
    private final int mask;

    TokenTable(String[] texts) {
        this.texts = texts;
        int cap = Integer.highestOneBit(Math.max(16, texts.length * 2 - 1)) << 1;
        slots = new int[cap];
        Arrays.fill(slots, -1);
        mask = cap - 1;
        for (int id = 0; id < texts.length; id++) {
            String t = texts[id];
            int s = hash(t, 0, t.length()) & mask;
            while (slots[s] >= 0 && !texts[slots[s]].equals(t)) s = (s + 1) & mask;
            slots[s] = id; // the last id wins on duplicates, as in Vocabulary
        }
    }

    private static int hash(CharSequence s, int from, int to) {
        int h = 0;
        for (int i = from; i < to; i++) h = 31 * h + s.charAt(i);
        int m = h * 0x9E3779B9; // spread short strings' clustered hashes over the table
        return m ^ (m >>> 15);
    }

    /** The id of the entry equal to {@code s[from, to)}, or -1. */
    int id(String s, int from, int to) {
        int len = to - from;
        int slot = hash(s, from, to) & mask;
        while (true) {
            int id = slots[slot];
            if (id < 0) return -1;
            String t = texts[id];
            if (t.length() == len && s.regionMatches(from, t, 0, len)) return id;
            slot = (slot + 1) & mask;
        }
    }
}
