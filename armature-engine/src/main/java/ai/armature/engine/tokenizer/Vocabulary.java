package ai.armature.engine.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The entries of a vocabulary as stored (text, type, optional score) and the ids that play a role: BOS, EOS,
 * unknown, and every id that ends generation. Immutable; shared by the encoding and decoding halves of a
 * tokenizer.
 */
final class Vocabulary {

    final String[] texts;
    final TokenType[] types;
    final float[] scores;
    final Map<String, Integer> ids;
    final int bos;
    final int eos;
    final int unk;
    final boolean addBos;
    final boolean addEos;
    private final boolean[] endOfGeneration;

    /** Token texts the reference tokenizers treat as ending a turn when they are control tokens. */
    static final Set<String> END_OF_GENERATION_TEXTS = Set.of(
            "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>");

    Vocabulary(String[] texts, TokenType[] types, float[] scores, int bos, int eos, int unk, int[] extraEndIds,
               boolean addBos, boolean addEos) {
        this.texts = Objects.requireNonNull(texts);
        this.types = Objects.requireNonNull(types);
        if (types.length != texts.length) {
            throw new IllegalArgumentException("vocabulary has " + texts.length + " tokens but " + types.length + " token types");
        }
        if (scores != null && scores.length != texts.length) {
            throw new IllegalArgumentException("vocabulary has " + texts.length + " tokens but " + scores.length + " scores");
        }
        this.scores = scores;
        this.ids = new HashMap<>(texts.length * 2);
        for (int i = 0; i < texts.length; i++) {
            // The last entry wins on duplicates, as in llama.cpp's text-to-token map.
            ids.put(texts[i], i);
        }
        this.bos = validOrMinus(bos);
        this.eos = validOrMinus(eos);
        this.unk = validOrMinus(unk);
        this.addBos = addBos && this.bos >= 0;
        this.addEos = addEos && this.eos >= 0;
        this.endOfGeneration = new boolean[texts.length];
        if (this.eos >= 0) endOfGeneration[this.eos] = true;
        if (extraEndIds != null) {
            for (int id : extraEndIds) if (id >= 0 && id < texts.length) endOfGeneration[id] = true;
        }
        for (int i = 0; i < texts.length; i++) {
            if (types[i] == TokenType.CONTROL && END_OF_GENERATION_TEXTS.contains(texts[i])) endOfGeneration[i] = true;
        }
    }

    private int validOrMinus(int id) {
        return id >= 0 && id < texts.length ? id : -1;
    }

    int size() {
        return texts.length;
    }

    boolean isEndOfGeneration(int id) {
        return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
    }

    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    /** Whether {@code id} is rendered only on request (control and unknown tokens). */
    boolean isSpecial(int id) {
        TokenType t = types[id];
        return t == TokenType.CONTROL || t == TokenType.UNKNOWN;
    }

    @Override
    public String toString() {
        return "Vocabulary[" + texts.length + " tokens, bos=" + bos + ", eos=" + eos + ", eog="
                + Arrays.toString(java.util.stream.IntStream.range(0, texts.length).filter(this::isEndOfGeneration).toArray()) + "]";
    }
}
