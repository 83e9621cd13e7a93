package ai.armature.frontend.tools;

import java.util.Set;

/**
 * Llama 3.1-3.3 JSON tool calls: the reply is {@code {"name": ..., "parameters": {...}}} (several separated by
 * {@code ;}), optionally after the {@code <|python_tag|>} token. Decided at the start of the reply: one that does
 * not open with a brace or the tag is plain content; one whose first object is not a call becomes content too.
 */
final class Llama3JsonToolParser implements ToolCallParser {

    static final String PYTHON_TAG = "<|python_tag|>";

    private enum Mode { UNDECIDED, CONTENT, CALLS }

    private Mode mode = Mode.UNDECIDED;
    private final StringBuilder held = new StringBuilder();
    private final CallObjects calls = new CallObjects();

    @Override
    public Set<String> specialTokens() {
        return Set.of(PYTHON_TAG);
    }

    @Override
    public void accept(String text, ToolCallListener out) {
        if (mode == Mode.CONTENT) {
            out.content(text);
            return;
        }
        if (mode == Mode.UNDECIDED) {
            held.append(text);
            String s = held.toString().stripLeading();
            if (s.isEmpty() || PYTHON_TAG.startsWith(s)) return;
            if (s.startsWith(PYTHON_TAG)) s = s.substring(PYTHON_TAG.length()).stripLeading();
            if (s.isEmpty()) return;
            if (s.charAt(0) != '{') {
                mode = Mode.CONTENT;
                out.content(held.toString());
                return;
            }
            mode = Mode.CALLS;
            feed(s, out);
            return;
        }
        held.append(text);
        feed(text, out);
    }

    private void feed(String text, ToolCallListener out) {
        if (!calls.accept(text, out) && calls.calls() == 0) toContent(out);
    }

    /** The first object was not a call: the whole reply is content, as the model wrote it. */
    private void toContent(ToolCallListener out) {
        mode = Mode.CONTENT;
        out.content(held.toString());
    }

    @Override
    public void finish(ToolCallListener out) {
        if (mode == Mode.UNDECIDED) {
            if (!held.isEmpty()) out.content(held.toString().replace(PYTHON_TAG, ""));
        } else if (mode == Mode.CALLS && !calls.finish(out) && calls.calls() == 0) {
            toContent(out);
        }
    }
}
