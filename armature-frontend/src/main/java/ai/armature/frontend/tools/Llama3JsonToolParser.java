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
    private JsonCallStreamer call;
    private final StringBuilder object = new StringBuilder();
    private int depth;
    private boolean inString, escaped;
    private int index;
    private boolean anyCall;

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
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (mode == Mode.CONTENT) {
                out.content(text.substring(i));
                return;
            }
            if (depth == 0) {
                if (c == '{') {
                    call = new JsonCallStreamer(index);
                    object.setLength(0);
                } else {
                    continue; // separators (; and whitespace) between calls
                }
            }
            object.append(c);
            if (inString) {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
            } else if (c == '"') {
                inString = true;
            } else if (c == '{') {
                depth++;
            } else if (c == '}') {
                depth--;
            }
            call.accept(String.valueOf(c), out);
            if (depth == 0) endObject(out);
        }
    }

    private void endObject(ToolCallListener out) {
        if (call.finish(out)) {
            index++;
            anyCall = true;
        } else if (!anyCall) {
            mode = Mode.CONTENT;
            out.content(held.toString());
        }
        call = null;
    }

    @Override
    public void finish(ToolCallListener out) {
        if (mode == Mode.UNDECIDED) {
            if (!held.isEmpty()) out.content(held.toString().replace(PYTHON_TAG, ""));
        } else if (mode == Mode.CALLS && call != null) {
            if (call.finish(out)) index++;
            else if (!anyCall) out.content(held.toString());
        }
    }
}
