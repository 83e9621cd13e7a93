package ai.armature.frontend.tools;

/**
 * Splits a reasoning model's output into reasoning and answer: text inside {@code <think>...</think>} is
 * reasoning (OpenAI-compatible servers return it as {@code reasoning_content}), the rest is content. A reply
 * that starts inside the reasoning because the prompt already opened it (DeepSeek-R1's template ends with
 * {@code <think>}) is constructed with {@code startsInReasoning} (a {@code <think>} it opens with anyway is
 * dropped); otherwise only a reply that opens with {@code <think>} has reasoning. Blank lines right after {@code </think>} are dropped. Streaming-safe: text that
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
    private final boolean startsInReasoning;
    private final StringBuilder lead = new StringBuilder();
    private final MarkerScanner close = new MarkerScanner(CLOSE);
    private boolean afterClose;

    /**
     * The parser {@code --reasoning-parser NAME} asks for, for a reply to a prompt that ends with
     * {@code promptTail} (the last few tokens' text): the reply starts in its reasoning when the prompt opened a
     * {@code <think>} it did not close (Qwen3 thinking models, DeepSeek-R1's template), and for {@code deepseek_r1}
     * also when the prompt shows no tag at all, as R1 models may think without writing the opening tag. Throws
     * IllegalArgumentException for an unknown name, naming the known ones.
     */
    public static ReasoningParser create(String name, String promptTail) {
        String tail = promptTail.stripTrailing();
        boolean opened = tail.endsWith(OPEN);
        boolean closed = tail.endsWith(CLOSE);
        return switch (name) {
            case "qwen3" -> new ReasoningParser(opened);
            case "deepseek_r1" -> new ReasoningParser(opened || !closed);
            default -> throw new IllegalArgumentException("unknown reasoning parser '" + name + "' (supported: " + String.join(", ", NAMES) + ")");
        };
    }

    /**
     * Where structured output starts for a reply to a prompt ending with {@code promptTail}, under
     * {@code --reasoning-parser NAME}: after the reasoning (which the reply is inside at once, or may open), or
     * null when the prompt already closed the reasoning (thinking disabled), so the answer is constrained from
     * the first token.
     */
    public static ai.armature.protocol.OutputConstraint.Reasoning constraintPrefix(String name, String promptTail) {
        if (promptTail.stripTrailing().endsWith(CLOSE)) return null;
        return new ai.armature.protocol.OutputConstraint.Reasoning(OPEN, CLOSE, create(name, promptTail).startsInReasoning);
    }

    public ReasoningParser(boolean startsInReasoning) {
        this.startsInReasoning = startsInReasoning;
        this.mode = Mode.START;
    }

    /** Whether the text fed so far ended inside the reasoning (to count reasoning tokens). */
    public boolean inReasoning() {
        return mode == Mode.REASONING || mode == Mode.START && startsInReasoning;
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
                } else if (startsInReasoning) {
                    mode = Mode.REASONING;
                    reasoning(lead.toString(), out);
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
            if (!lead.isEmpty() && startsInReasoning) out.reasoning(lead.toString());
            else if (!lead.isEmpty()) out.content(lead.toString());
        } else if (mode == Mode.REASONING) {
            String held = close.drain();
            if (!held.isEmpty()) out.reasoning(held);
        }
    }
}
