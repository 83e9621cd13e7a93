package ai.armature.cli;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Deterministic benchmark text in the proportions a chat service sees: English prose, source code, Chinese and
 * Japanese, and emoji, assembled from fragments written for this project and shuffled with a seed. A third of
 * the prose words are invented (and identifiers in code renamed, CJK characters reshuffled) so that word caches
 * cannot make the text look easier than real text.
 */
final class MixedText {

    private static final String[] WORDS = ("the a of to and in is that for it as with was on be by this are or at from "
            + "which an but not have has had were they their been one all would there will more when can who about what "
            + "server request token cache latency throughput model worker router batch prefix memory block queue stream "
            + "quickly carefully however although because therefore meanwhile instead together before after during "
            + "system engine schedule measure improve reduce increase balance decide answer question river mountain "
            + "morning evening library window garden kitchen travel market history science music language Armature "
            + "Paris London Tokyo Berlin January Monday 2026 42 3.14 100% don't it's we'll they're I've").split(" ");

    private static final String[] CODE = {
            "public static int[] encode(String text, boolean addBos) {\n    IntList out = new IntList(text.length() / 3);\n",
            "    for (int i = 0; i < n; i++) {\n        if (ids[i] < 0) throw new IllegalArgumentException(\"bad id \" + ids[i]);\n    }\n",
            "def merge(pairs, ranks):\n    best = min(pairs, key=lambda p: ranks.get(p, float('inf')))\n    return best\n\n",
            "fn main() -> Result<(), Box<dyn Error>> {\n    let v: Vec<u32> = (0..16).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n    Ok(())\n}\n",
            "SELECT worker_id, COUNT(*) AS n FROM requests WHERE ttft_ms > 250 GROUP BY worker_id ORDER BY n DESC;\n",
            "const cache = new Map();\nexport async function fetchJson(url) {\n  const r = await fetch(url, { headers: { 'Accept': 'application/json' } });\n  return r.json();\n}\n",
            "{\"model\": \"llama-3-8b\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}], \"max_tokens\": 128}\n",
            "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 1 << 10); return 0; }\n",
    };

    private static final String[] CJK = {
            "今天的天气很好，我们一起去公园散步吧。", "这个系统可以同时处理很多请求，并且延迟很低。", "机器学习模型需要大量的数据和计算资源。",
            "東京の春は桜がとても美しいです。", "新しいサーバーを追加すると、全体のスループットが向上します。", "ありがとうございます。また明日会いましょう。",
            "서울은 한국의 수도입니다.", "我们在北京和上海都有数据中心。",
    };

    private static final String[] EMOJI = {"😀", "🚀", "👍🏽", "❤️", "🎉", "👩‍💻", "🇫🇷", "✅", "🔥", "🤖", "🌍", "☕"};

    private MixedText() {
    }

    private static final String[] ONSETS = {"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v",
            "w", "z", "br", "cr", "st", "tr", "pl", "sh", "ch", "th", "gr", "qu"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "y", "ai", "ea", "ou", "io"};

    /** A common word most of the time, otherwise an invented one, so the vocabulary of the text stays large. */
    private static String word(SplittableRandom rnd) {
        int r = rnd.nextInt(10);
        if (r < 6) return WORDS[rnd.nextInt(WORDS.length)];
        if (r < 9) return pseudoWord(rnd);
        return String.valueOf(rnd.nextInt(1_000_000));
    }

    private static String pseudoWord(SplittableRandom rnd) {
        StringBuilder w = new StringBuilder();
        int syllables = 1 + rnd.nextInt(4);
        for (int i = 0; i < syllables; i++) w.append(ONSETS[rnd.nextInt(ONSETS.length)]).append(VOWELS[rnd.nextInt(VOWELS.length)]);
        if (rnd.nextBoolean()) w.append(ONSETS[rnd.nextInt(ONSETS.length)]);
        return w.toString();
    }

    /** About {@code bytes} bytes of UTF-8 text generated from {@code seed}. */
    static String generate(long bytes, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder b = new StringBuilder((int) Math.min(Integer.MAX_VALUE - 16, bytes));
        long size = 0;
        while (size < bytes) {
            int start = b.length();
            int kind = rnd.nextInt(10);
            if (kind < 6) {
                int sentences = 2 + rnd.nextInt(5);
                for (int s = 0; s < sentences; s++) {
                    int n = 6 + rnd.nextInt(14);
                    for (int w = 0; w < n; w++) {
                        String word = word(rnd);
                        if (w == 0) word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                        b.append(word);
                        if (w + 1 < n) b.append(rnd.nextInt(12) == 0 ? ", " : " ");
                    }
                    b.append(rnd.nextInt(8) == 0 ? "! " : rnd.nextInt(8) == 0 ? "? " : ". ");
                    if (rnd.nextInt(6) == 0) b.append(EMOJI[rnd.nextInt(EMOJI.length)]).append(' ');
                }
                b.append("\n\n");
            } else if (kind < 8) {
                // Rename identifiers so code is not one repeated block.
                b.append(CODE[rnd.nextInt(CODE.length)].replace("ids", pseudoWord(rnd)).replace("out", pseudoWord(rnd))
                        .replace("128", String.valueOf(rnd.nextInt(100_000)))).append('\n');
            } else {
                int n = 1 + rnd.nextInt(4);
                for (int s = 0; s < n; s++) {
                    if (rnd.nextBoolean()) {
                        b.append(CJK[rnd.nextInt(CJK.length)]);
                    } else {
                        String line = CJK[rnd.nextInt(CJK.length)];
                        for (int c = 0; c < 12; c++) b.append(line.charAt(rnd.nextInt(line.length())));
                        b.append('。');
                    }
                }
                if (rnd.nextBoolean()) b.append(EMOJI[rnd.nextInt(EMOJI.length)]);
                b.append('\n');
            }
            size += b.substring(start).getBytes(StandardCharsets.UTF_8).length;
        }
        return b.toString();
    }
}
