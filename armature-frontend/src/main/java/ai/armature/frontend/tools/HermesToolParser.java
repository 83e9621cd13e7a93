package ai.armature.frontend.tools;

/**
 * Hermes / Qwen tool calls: {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>}, any number of them,
 * with content around them. A region that is not a valid call is passed on as content, markers included.
 */
final class HermesToolParser implements ToolCallParser {

    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";

    private MarkerScanner scanner = new MarkerScanner(OPEN);
    private boolean inCall;
    private JsonCallStreamer call;
    private final StringBuilder raw = new StringBuilder();
    private int index;

    @Override
    public void accept(String text, ToolCallListener out) {
        String t = text;
        while (!t.isEmpty()) {
            String before = scanner.scan(t);
            if (!scanner.found()) {
                if (inCall) {
                    raw.append(before);
                    call.accept(before, out);
                } else if (!before.isEmpty()) {
                    out.content(before);
                }
                return;
            }
            t = scanner.rest();
            if (!inCall) {
                if (!before.isEmpty()) out.content(before);
                inCall = true;
                call = new JsonCallStreamer(index);
                raw.setLength(0);
                scanner = new MarkerScanner(CLOSE);
            } else {
                raw.append(before);
                call.accept(before, out);
                endCall(out);
            }
        }
    }

    private void endCall(ToolCallListener out) {
        if (call.finish(out)) index++;
        else out.content(OPEN + raw + CLOSE);
        inCall = false;
        scanner = new MarkerScanner(OPEN);
    }

    @Override
    public void finish(ToolCallListener out) {
        String held = scanner.drain();
        if (!inCall) {
            if (!held.isEmpty()) out.content(held);
            return;
        }
        // The output ended inside a call (no closing tag): complete it if it parses.
        raw.append(held);
        call.accept(held, out);
        if (call.finish(out)) index++;
        else out.content(OPEN + raw);
        inCall = false;
    }
}
