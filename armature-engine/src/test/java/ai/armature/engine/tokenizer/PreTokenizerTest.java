package ai.armature.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-written Llama 3 / Qwen2 pre-tokenizers must split exactly like their regexes. */
class PreTokenizerTest {

    private static final String ALPHABET = "aZé ß\t\n\r 0123'sStTrReEvVmMlLdD.,!?-_()[]{}\"\u00A0\u2003\u3000日本語한国٣²ⅷ😀🚀\u0301\u200B\u0085😀x";

    static List<String> words(PreTokenizer p, String s) {
        List<String> out = new ArrayList<>();
        p.split(s, 0, s.length(), (a, b) -> out.add(s.substring(a, b)));
        return out;
    }

    @Test
    void handWrittenMatchesRegexOnRandomText() {
        SplittableRandom rnd = new SplittableRandom(1234);
        int[] cps = ALPHABET.codePoints().toArray();
        PreTokenizer llama = new Llama3PreTokenizer(3);
        PreTokenizer qwen = new Llama3PreTokenizer(1);
        PreTokenizer llamaRegex = new RegexPreTokenizer(PreTokenizers.HF_LLAMA3.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)",
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"));
        PreTokenizer qwenRegex = new RegexPreTokenizer(PreTokenizers.QWEN2);
        for (int iter = 0; iter < 3000; iter++) {
            StringBuilder b = new StringBuilder();
            int len = rnd.nextInt(40);
            for (int i = 0; i < len; i++) b.appendCodePoint(cps[rnd.nextInt(cps.length)]);
            String s = b.toString();
            assertThat(words(llama, s)).as("llama3 %s", FixtureVectorsTest.quote(s)).isEqualTo(words(llamaRegex, s));
            assertThat(words(qwen, s)).as("qwen2 %s", FixtureVectorsTest.quote(s)).isEqualTo(words(qwenRegex, s));
        }
    }

    @Test
    void knownSplits() {
        PreTokenizer p = new Llama3PreTokenizer(3);
        assertThat(words(p, "Hello world's 12345 \n\n  x!!\n")).containsExactly(
                "Hello", " world", "'s", " ", "123", "45", " \n\n", " ", " x", "!!\n");
    }
}
