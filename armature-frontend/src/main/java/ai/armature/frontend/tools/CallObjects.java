package ai.armature.frontend.tools;

/**
 * A run of tool calls written as JSON objects one after another ({@code {"name": ..., "parameters": ...}}),
 * separated by anything outside the objects ({@code ;}, {@code ,}, whitespace, the brackets of an array): each
 * top-level object is streamed through its own {@link JsonCallStreamer} as it arrives. Strings are tracked so
 * braces inside them do not count. {@link #accept} returns false once an object turned out not to be a call, with
 * nothing of it emitted; the caller decides what that text is.
 */
final class CallObjects {

    private JsonCallStreamer call;
    private int depth;
    private boolean inString, escaped;
    private int calls;
    private boolean failed;

    /** Feeds text; returns false when an object ended that was not a tool call. */
    boolean accept(String text, ToolCallListener out) {
        for (int i = 0; i < text.length() && !failed; i++) {
            char c = text.charAt(i);
            if (depth == 0) {
                if (c != '{') continue; // separators between calls
                call = new JsonCallStreamer(calls);
            }
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
        return !failed;
    }

    private void endObject(ToolCallListener out) {
        if (call.finish(out)) calls++;
        else failed = true;
        call = null;
    }

    /** The output ended: completes an object cut short if what arrived of it is a call. */
    boolean finish(ToolCallListener out) {
        if (call != null && !failed) endObject(out);
        return !failed;
    }

    /** Calls emitted so far. */
    int calls() {
        return calls;
    }
}
