package ai.armature.engine.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-tokenizer made of regexes applied in turn, as llama.cpp does for families with several expressions: each
 * expression splits every piece the previous one produced into its matches and the gaps between them (gaps are
 * words too). Lookarounds and anchors see only the piece being split. {@code \s} means Unicode White_Space.
 */
final class RegexPreTokenizer implements PreTokenizer {

    private final Pattern[] patterns;

    RegexPreTokenizer(String... regexes) {
        patterns = new Pattern[regexes.length];
        for (int i = 0; i < regexes.length; i++) {
            patterns[i] = Pattern.compile(regexes[i], Pattern.UNICODE_CHARACTER_CLASS);
        }
    }

    @Override
    public void split(String text, int start, int end, Sink sink) {
        apply(0, text, start, end, sink);
    }

    private void apply(int level, String text, int start, int end, Sink sink) {
        if (start >= end) return;
        if (level == patterns.length) {
            sink.word(start, end);
            return;
        }
        Matcher m = patterns[level].matcher(text);
        m.region(start, end);
        int pos = start;
        while (m.find()) {
            if (m.end() == m.start()) continue; // empty matches split nothing
            if (m.start() > pos) apply(level + 1, text, pos, m.start(), sink);
            apply(level + 1, text, m.start(), m.end(), sink);
            pos = m.end();
        }
        if (pos < end) apply(level + 1, text, pos, end, sink);
    }
}
