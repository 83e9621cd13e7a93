package ai.armature.frontend.tools;

/**
 * Splits a reasoning model's output into reasoning and answer: text inside {@code <think>...</think>} is
 * reasoning (OpenAI-compatible servers return it as {@code reasoning_content}), the rest is content. A reply
 * that starts inside the reasoning because the prompt already opened it (DeepSeek-R1's template ends with
 * {@code <think>}) is constructed with {@code startsInReasoning}; otherwise only a reply that opens with
 * {@code <think>} has reasoning. Blank lines right after {@code </think>} are dropped. Streaming-safe: text that
 * may be the start of a tag is held back until decided. One per choice; not thread-safe.
 */
public final class ReasoningParser {

    /** Receives the two kinds of text, in order. */
    public interface Listener {
        void reasoning(String text);

        void content(String text);
    }

    public static final String OPEN = "<think>";
    public static final String CLOSE = "</think>";
    /** The names {@code --reasoning-parser} takes (vLLM's); both read {@code <think>} tags. */
    public static final java.util.List<String> NAMES = java.util.List.of("deepseek_r1", "qwen3");

    private enum Mode { START, REASONING, CONTENT }

    private Mode mode;
    private final StringBuilder lead = new StringBuilder();
    private final MarkerScanner close = new MarkerScanner(CLOSE);
    private boolean afterClose;

    public ReasoningParser(boolean startsInReasoning) {
        this.mode = startsInReasoning ? Mode.REASONING : Mode.START;
    }

    /** Whether the text fed so far ended inside the reasoning (to count reasoning tokens). */
    public boolean inReasoning() {
        return mode == Mode.REASONING;
    }

    public void accept(String text, Listener out) {
        switch (mode) {
            case START -> {
                lead.append(text);
                String s = lead.toString().stripLeading();
                if (s.length() < OPEN.length() && OPEN.startsWith(s)) return; // undecided
                if (s.startsWith(OPEN)) {
                    mode = Mode.REASONING;
                    reasoning(s.substring(OPEN.length()), out);
                } else {
                    mode = Mode.CONTENT;
                    out.content(lead.toString());
                }
            }
            case REASONING -> reasoning(text, out);
            case CONTENT -> content(text, out);
        }
    }

    private void reasoning(String text, Listener out) {
        String before = close.scan(text);
        if (!before.isEmpty()) out.reasoning(before);
        if (close.found()) {
            mode = Mode.CONTENT;
            afterClose = true;
            content(close.rest(), out);
        }
    }

    private void content(String t, Listener out) {
        if (afterClose) {
            t = t.replaceFirst("^\\s+", "");
            if (t.isEmpty()) return;
            afterClose = false;
        }
        if (!t.isEmpty()) out.content(t);
    }

    public void finish(Listener out) {
        if (mode == Mode.START) {
            if (!lead.isEmpty()) out.content(lead.toString());
        } else if (mode == Mode.REASONING) {
            String held = close.drain();
            if (!held.isEmpty()) out.reasoning(held);
        }
    }
}
