package ai.armature.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Self-contained tests on vocabularies built here, so they run without any fixture. */
class TinyVocabularyTest {

    /** A byte-level vocabulary: all 256 byte characters, a few merges, and atomic tokens. */
    static BpeTokenizer tinyBpe(boolean ignoreMerges) {
        List<String> texts = new ArrayList<>();
        List<TokenType> types = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            texts.add(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]));
            types.add(TokenType.NORMAL);
        }
        String[][] merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"Ġw", "o"}, {"a", "a"}, {"aa", "a"}};
        for (String[] m : merges) {
            texts.add(m[0] + m[1]);
            types.add(TokenType.NORMAL);
        }
        texts.add("Ġwor"); // reachable only when whole words are looked up (ignore_merges)
        types.add(TokenType.NORMAL);
        texts.add("<|bos|>");
        types.add(TokenType.CONTROL);
        texts.add("<|end|>");
        types.add(TokenType.CONTROL);
        texts.add("  ");
        types.add(TokenType.USER_DEFINED);
        Vocabulary v = new Vocabulary(texts.toArray(new String[0]), types.toArray(new TokenType[0]), null,
                texts.indexOf("<|bos|>"), -1, -1, null, true, false);
        return new BpeTokenizer(v, merges, new Llama3PreTokenizer(3), ignoreMerges, false, null, null);
    }

    static int id(Tokenizer t, String text) {
        int id = t.tokenId(text);
        assertThat(id).as(text).isGreaterThanOrEqualTo(0);
        return id;
    }

    @Test
    void bpeAppliesMergesByRankAndLeftmostOnTies() {
        BpeTokenizer t = tinyBpe(false);
        assertThat(t.encode("hello wo", false, false)).containsExactly(id(t, "hello"), id(t, "Ġwo"));
        // "aaaa": the leftmost "a a" merges first; then "a a" (rank 6) beats "aa a" (rank 7): aa + aa
        assertThat(t.encode("aaaa", false, false)).containsExactly(id(t, "aa"), id(t, "aa"));
        assertThat(t.encode("aaa", false, false)).containsExactly(id(t, "aaa"));
        assertThat(t.encode("wor", false, false)).containsExactly(id(t, "w"), id(t, "o"), id(t, "r"));
        assertThat(t.encode(" wor", false, false)).containsExactly(id(t, "Ġwo"), id(t, "r"));
        assertThat(tinyBpe(true).encode(" wor", false, false)).containsExactly(id(t, "Ġwor"));
    }

    @Test
    void longWordsUseTheQueueWithTheSameResultAsTheFlatScan() {
        BpeTokenizer t = tinyBpe(false);
        String word = "hello".repeat(2000); // one pre-token of 10,000 bytes
        int[] ids = t.encode(word, false, false);
        assertThat(ids).hasSize(2000).containsOnly(id(t, "hello"));
        assertThat(t.encode("a".repeat(100), false, false)).hasSize(50).containsOnly(id(t, "aa"));
        assertThat(t.encode("a".repeat(101), false, false)).hasSize(50).endsWith(id(t, "aaa"));
    }

    @Test
    void controlTokensNeedParseSpecialButUserDefinedTokensAreAlwaysAtomic() {
        BpeTokenizer t = tinyBpe(false);
        int end = id(t, "<|end|>");
        assertThat(t.encode("hello<|end|>", false, true)).containsExactly(id(t, "hello"), end);
        int[] raw = t.encode("hello<|end|>", false, false);
        assertThat(raw).doesNotContain(end).startsWith(id(t, "hello"));
        assertThat(t.decode(raw, true)).isEqualTo("hello<|end|>");
        assertThat(t.encode("a  b", false, false)).contains(id(t, "  "));
    }

    @Test
    void bosAndRenderSpecial() {
        BpeTokenizer t = tinyBpe(false);
        int[] ids = t.encode("hello", true, false);
        assertThat(ids).containsExactly(t.bosTokenId(), id(t, "hello"));
        assertThat(t.addBosByDefault()).isTrue();
        assertThat(t.decode(ids, false)).isEqualTo("hello");
        assertThat(t.decode(ids, true)).isEqualTo("<|bos|>hello");
        assertThatThrownBy(() -> t.decode(new int[]{99999}, false)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void streamingEmitsOnlyCompleteCharactersAndEqualsFullDecode() {
        BpeTokenizer t = tinyBpe(false);
        String text = "hé 日本 😀!";
        int[] ids = t.encode(text, false, false);
        assertThat(ids.length).isEqualTo(text.getBytes(StandardCharsets.UTF_8).length); // no merge applies: one token per byte
        StreamingDetokenizer sd = t.streamingDetokenizer(false);
        StringBuilder b = new StringBuilder();
        for (int i : ids) {
            String piece = sd.accept(i);
            for (int k = 0; k < piece.length(); k++) assertThat(piece.charAt(k)).isNotEqualTo('\uFFFD');
            b.append(piece);
        }
        b.append(sd.flush());
        assertThat(b.toString()).isEqualTo(t.decode(ids, false)).isEqualTo(text);
        // A dangling partial character is held back and flushed as U+FFFD, as the full decode renders it.
        StreamingDetokenizer sd2 = t.streamingDetokenizer(false);
        int lead = id(t, String.valueOf(ByteLevel.BYTE_TO_CHAR[0xE6]));
        assertThat(sd2.accept(lead)).isEmpty();
        assertThat(sd2.flush()).isEqualTo(t.decode(new int[]{lead}, false)).isEqualTo("\uFFFD");
    }

    /** A SentencePiece vocabulary with scores and byte fallback. */
    static SentencePieceTokenizer tinySpm(boolean addSpacePrefix) {
        List<String> texts = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<TokenType> types = new ArrayList<>(List.of(TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        for (int b = 0; b < 256; b++) {
            texts.add(String.format("<0x%02X>", b));
            types.add(TokenType.BYTE);
            scores.add(0f);
        }
        String[] pieces = {"▁", "h", "e", "l", "o", "w", "r", "d", "he", "ll", "hell", "hello", "▁hello", "▁w", "or", "▁wor", "ld", "▁world", "▁▁"};
        float[] sc = {-1, -2, -2, -2, -2, -2, -2, -2, -3, -3, -4, -5, -6, -3, -3, -4, -3, -5, -7};
        for (int i = 0; i < pieces.length; i++) {
            texts.add(pieces[i]);
            types.add(TokenType.NORMAL);
            scores.add(sc[i]);
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
        Vocabulary v = new Vocabulary(texts.toArray(new String[0]), types.toArray(new TokenType[0]), s, 1, 2, 0, null, true, false);
        return new SentencePieceTokenizer(v, addSpacePrefix);
    }

    @Test
    void sentencePieceMergesByScorePrefixesASpaceAndFallsBackToBytes() {
        SentencePieceTokenizer t = tinySpm(true);
        assertThat(t.encode("hello world", false, false)).containsExactly(id(t, "▁hello"), id(t, "▁world"));
        assertThat(t.encode("hello world", true, false)).startsWith(1);
        int[] ids = t.encode("hé", false, false);
        // "é" is not a piece: its two UTF-8 bytes become byte tokens
        assertThat(ids).containsExactly(id(t, "▁"), id(t, "h"), id(t, "<0xC3>"), id(t, "<0xA9>"));
        for (String s : List.of("hello world", "hé", " hello", "  two  spaces ", "héllo wörld 😀")) {
            int[] e = t.encode(s, false, false);
            assertThat(t.decode(e, false)).as(s).isEqualTo(s);
            StreamingDetokenizer sd = t.streamingDetokenizer(false);
            StringBuilder b = new StringBuilder();
            for (int i : e) b.append(sd.accept(i));
            assertThat(b.append(sd.flush()).toString()).as(s).isEqualTo(s);
        }
        // With BOS rendered, the first piece keeps its space, as a full decode does.
        assertThat(t.decode(t.encode("hello", true, false), true)).isEqualTo("<s> hello");
        assertThat(tinySpm(false).encode("hello", false, false)).containsExactly(id(t, "hello"));
    }

    @Test
    void sentencePieceLongRunsAreSegmentedExactly() {
        SentencePieceTokenizer t = tinySpm(false);
        String run = "helloworld".repeat(3000) + "xyz";
        int[] ids = t.encode(run, false, false);
        assertThat(t.decode(ids, false)).isEqualTo(run);
        assertThat(ids).startsWith(id(t, "hello"), id(t, "w"), id(t, "or"), id(t, "ld"));
    }

    @Test
    void endOfGenerationCoversEosAndEndOfTurnControlTokens() {
        String[] texts = {"a", "<eos>", "<|eot_id|>", "<|im_end|>", "<|end|>", "plain"};
        TokenType[] types = {TokenType.NORMAL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.NORMAL, TokenType.NORMAL};
        Vocabulary v = new Vocabulary(texts, types, null, -1, 1, -1, new int[]{5}, false, false);
        assertThat(v.isEndOfGeneration(1)).isTrue();
        assertThat(v.isEndOfGeneration(2)).isTrue();
        assertThat(v.isEndOfGeneration(3)).isTrue();
        assertThat(v.isEndOfGeneration(4)).as("<|end|> as plain text is not a control token").isFalse();
        assertThat(v.isEndOfGeneration(5)).as("listed by metadata").isTrue();
        assertThat(v.isEndOfGeneration(0)).isFalse();
    }

    @Test
    void unknownPreTokenizerIsAClearError() {
        assertThatThrownBy(() -> PreTokenizers.forGgufName("no-such-family"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown pre-tokenizer 'no-such-family'");
    }
}
