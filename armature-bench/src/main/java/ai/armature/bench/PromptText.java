package ai.armature.bench;

import java.util.SplittableRandom;

/**
 * Builds prompt text of a predictable token count without knowing the server's tokenizer. Prompts are sequences
 * of common short English words, each preceded by a space: in the byte-level BPE vocabularies (GPT-2, Llama 3,
 * Qwen) and the SentencePiece ones (Llama 2, Mistral) each such word is a single token, so a prompt of n words is
 * close to n tokens. The remaining error (and the fixed overhead of BOS tokens or a chat template) is measured by
 * {@link Calibration} against the server's reported {@code usage.prompt_tokens} and corrected by
 * {@link #wordsFor(int)}.
 *
 * <p>Word sequences are derived from explicit seeds so that the same seed always gives the same words; callers
 * encode identities (a request index, a trace block id) in the first words to make distinct texts certain to differ.
 */
public final class PromptText {

    /** 256 common lowercase English words (a power of two, so ids encode in whole words). */
    static final String[] WORDS = {
            "the", "of", "and", "to", "in", "is", "it", "that", "for", "was", "on", "are", "as", "with", "his", "they",
            "at", "be", "this", "have", "from", "or", "one", "had", "by", "but", "not", "what", "all", "were", "we",
            "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their", "if",
            "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would",
            "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no",
            "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "its", "now", "find",
            "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only",
            "little", "work", "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing",
            "our", "just", "name", "good", "man", "think", "say", "great", "where", "help", "through", "much",
            "before", "line", "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want",
            "show", "also", "around", "form", "three", "small", "set", "put", "end", "does", "another", "well",
            "large", "must", "big", "even", "such", "because", "turn", "here", "why", "ask", "went", "men", "read",
            "need", "land", "different", "home", "us", "move", "try", "kind", "hand", "picture", "again", "change",
            "off", "play", "spell", "air", "away", "animal", "house", "point", "page", "letter", "mother", "answer",
            "found", "study", "still", "learn", "should", "world", "high", "every", "near", "add", "food", "between",
            "own", "below", "country", "plant", "last", "school", "father", "keep", "tree", "never", "start", "city",
            "earth", "eye", "light", "thought", "head", "under", "story", "saw", "left", "few", "while", "along",
            "might", "close", "something", "seem", "next", "hard", "open", "example", "begin", "life", "always",
            "those", "both", "paper", "together", "got", "group", "often", "run", "important", "until", "children",
            "side", "feet", "car", "mile", "night", "walk", "white", "sea", "began", "grow", "took", "river",
    };

    private static final int ID_WORDS = 4; // 256^4 distinct ids

    private final double tokensPerWord;
    private final int overheadTokens;

    /**
     * @param tokensPerWord  measured tokens per word (1.0 when uncalibrated)
     * @param overheadTokens tokens the server adds to every prompt (BOS, chat template), 0 when uncalibrated
     */
    public PromptText(double tokensPerWord, int overheadTokens) {
        if (!(tokensPerWord > 0)) {
            throw new IllegalArgumentException("tokensPerWord must be positive: " + tokensPerWord);
        }
        this.tokensPerWord = tokensPerWord;
        this.overheadTokens = overheadTokens;
    }

    /** One token per word, no overhead. */
    public static PromptText uncalibrated() {
        return new PromptText(1.0, 0);
    }

    public double tokensPerWord() {
        return tokensPerWord;
    }

    public int overheadTokens() {
        return overheadTokens;
    }

    /** Words needed for a whole prompt of {@code tokens} tokens (the server's overhead subtracted). */
    public int wordsFor(int tokens) {
        return Math.max(1, (int) Math.round((tokens - overheadTokens) / tokensPerWord));
    }

    /** Words needed for a piece of {@code tokens} tokens inside a prompt (no overhead). */
    public int wordsForPiece(int tokens) {
        return Math.max(0, (int) Math.round(tokens / tokensPerWord));
    }

    /**
     * Appends {@code count} words to {@code out}, each preceded by a space: first the id encoded in base 256
     * (so distinct ids give distinct texts as long as {@code count >= 4}), then words drawn from a generator seeded
     * with {@code seed} and {@code id}.
     */
    public static void appendWords(StringBuilder out, long seed, long id, int count) {
        long rem = id;
        int n = 0;
        for (; n < Math.min(ID_WORDS, count); n++) {
            out.append(' ').append(WORDS[(int) (rem & 0xFF)]);
            rem >>>= 8;
        }
        SplittableRandom rnd = new SplittableRandom(mix(seed, id));
        for (; n < count; n++) {
            out.append(' ').append(WORDS[rnd.nextInt(WORDS.length)]);
        }
    }

    /** {@code count} words for id {@code id} under {@code seed}; see {@link #appendWords}. */
    public static String words(long seed, long id, int count) {
        StringBuilder sb = new StringBuilder(count * 6);
        appendWords(sb, seed, id, count);
        return sb.toString();
    }

    /** Number of space-separated words in a text. */
    public static int countWords(String text) {
        int n = 0;
        boolean in = false;
        for (int i = 0; i < text.length(); i++) {
            boolean ws = Character.isWhitespace(text.charAt(i));
            if (!ws && !in) {
                n++;
            }
            in = !ws;
        }
        return n;
    }

    static long mix(long seed, long id) {
        long z = seed * 0x9E3779B97F4A7C15L + id;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
