package ai.armature.engine.demo;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A byte-level BPE vocabulary (the GPT-2 scheme) that Armature builds itself for demo models: the 256 byte
 * tokens, then English words and pronounceable made-up words each reachable by a chain of merges, then the
 * special tokens. Every string encodes (bytes always do) and decodes back exactly; random weights then
 * produce word-like text instead of control-token soup.
 */
public final class DemoVocabulary {

    public static final String BOS = "<|begin_of_text|>";
    public static final String EOS = "<|end_of_text|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    private static final List<String> SPECIALS = List.of(BOS, EOS, IM_START, IM_END);

    private static final String[] WORDS = ("the of and to a in is that it for was on are as with his they at be this "
            + "from have or by one had not but what all were when we there can an your which their said if do will each "
            + "about how up out them then she many some so these would other into has more her two like him see time "
            + "could no make than first been its who now people my made over did down only way find use may water long "
            + "little very after words called just where most know get through back much before go good new write our "
            + "used me man too any day same right look think also around another came come work three word must because "
            + "does part even place well such here take why things help put years different away again off went old "
            + "number great tell men say small every found still between name should home big give air line set own "
            + "under read last never us left end along while might next sound below saw something thought both few "
            + "those always looked show large often together asked house world going want school important until form "
            + "food keep children feet land side without boy once animals life enough took sometimes four head above "
            + "kind began almost live page got earth need far hand high year mother light parts country father let night "
            + "following picture being study second eyes soon times story boys since white days ever paper hard near "
            + "sentence better best across during today others however sure means knew try told young miles sun ways "
            + "thing whole hear example heard several change answer room sea against top turned learn point city play "
            + "toward five using himself usually model token cache server worker router batch prompt stream java").split(" ");
    private static final String[] SYLLABLES = ("ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no "
            + "nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu da de di do du ga ge gi go gu pa pe pi po "
            + "pu fa fe fi fo fu ha he hi ho hu ja jo wa we wi wo za zo an en in on un ar er ir or ur al el il ol ul "
            + "st tr pr br cr dr gr fl pl sl cl bl th sh ch ng nd nt rt ld").split(" ");

    private final List<String> tokens = new ArrayList<>();
    private final List<String> merges = new ArrayList<>();
    private final Map<String, Integer> ids = new LinkedHashMap<>();
    private final Set<String> mergeSet = new HashSet<>();

    private DemoVocabulary(int size, long seed) {
        if (size < 256 + SPECIALS.size() + 16) throw new IllegalArgumentException("demo vocabulary needs at least 276 tokens");
        for (int b = 0; b < 256; b++) add(String.valueOf(BYTE_TO_CHAR[b]));
        int target = size - SPECIALS.size();
        for (String w : WORDS) {
            if (tokens.size() >= target) break;
            addWord(w, target);
            addWord("\u0120" + w, target);
        }
        SplittableRandom random = new SplittableRandom(seed);
        while (tokens.size() < target) {
            StringBuilder w = new StringBuilder(random.nextInt(4) == 0 ? "" : "\u0120");
            int syllables = 1 + random.nextInt(3);
            for (int i = 0; i < syllables; i++) w.append(SYLLABLES[random.nextInt(SYLLABLES.length)]);
            addWord(w.toString(), target);
        }
        for (String s : SPECIALS) add(s);
    }

    /** A vocabulary of exactly {@code size} tokens, the same for the same seed. */
    public static DemoVocabulary build(int size, long seed) {
        return new DemoVocabulary(size, seed);
    }

    /** Adds the chain of merges that builds {@code word} left to right, as far as the size allows. */
    private void addWord(String word, int target) {
        String prefix = word.substring(0, 1);
        for (int i = 1; i < word.length() && tokens.size() < target; i++) {
            String next = word.substring(i, i + 1);
            String merged = prefix + next;
            if (!ids.containsKey(merged)) {
                add(merged);
            }
            String merge = prefix + " " + next;
            if (mergeSet.add(merge)) merges.add(merge);
            prefix = merged;
        }
    }

    private void add(String token) {
        ids.put(token, tokens.size());
        tokens.add(token);
    }

    public List<String> tokens() {
        return tokens;
    }

    public List<String> merges() {
        return merges;
    }

    /** GGUF token types: 1 normal, 3 control. */
    public int[] tokenTypes() {
        int[] types = new int[tokens.size()];
        for (int i = 0; i < types.length; i++) types[i] = SPECIALS.contains(tokens.get(i)) ? 3 : 1;
        return types;
    }

    public int id(String token) {
        Integer id = ids.get(token);
        if (id == null) throw new IllegalArgumentException("no token " + token);
        return id;
    }

    /** GPT-2's reversible mapping of bytes to printable characters. */
    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
        }
    }
}
