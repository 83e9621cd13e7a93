package ai.armature.frontend.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One tool call written as a JSON object {@code {"name": ..., "arguments" | "parameters": {...}}}, fed as it is
 * generated. When the name comes first (as models are trained to write it) the call begins as soon as the name
 * is complete and the arguments stream as they arrive, holding back only trailing braces and whitespace (one of
 * those braces closes the outer object). Otherwise the call is parsed whole when it ends. {@link #finish} returns
 * false when the text is not a tool call at all, and then nothing was emitted.
 */
final class JsonCallStreamer {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HEAD = Pattern.compile(
            "^\\s*\\{\\s*\"name\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*,\\s*\"(?:arguments|parameters)\"\\s*:\\s*(?=[{\\[])", Pattern.DOTALL);

    private final int index;
    private final StringBuilder body = new StringBuilder();
    private int argsStart = -1;
    private int emitted;
    private boolean whole; // the head did not match: parse the whole call at the end

    JsonCallStreamer(int index) {
        this.index = index;
    }

    void accept(String text, ToolCallListener out) {
        body.append(text);
        if (whole) return;
        if (argsStart < 0) {
            Matcher m = HEAD.matcher(body);
            if (m.find()) {
                String name;
                try {
                    name = JSON.readValue("\"" + m.group(1) + "\"", String.class);
                } catch (Exception e) {
                    whole = true;
                    return;
                }
                out.toolCallBegin(index, ToolCallIds.next(), name);
                argsStart = m.end();
                emitted = argsStart;
            } else if (!mayStillMatch()) {
                whole = true;
                return;
            } else {
                return;
            }
        }
        int safe = body.length();
        while (safe > emitted && " \t\r\n}".indexOf(body.charAt(safe - 1)) >= 0) safe--;
        if (safe > emitted) {
            out.toolCallArguments(index, body.substring(emitted, safe));
            emitted = safe;
        }
    }

    /** Whether the text so far can still begin {"name": (whitespace aside); the name itself may be anything. */
    private boolean mayStillMatch() {
        String target = "{\"name\":";
        StringBuilder compact = new StringBuilder();
        for (int i = 0; i < body.length() && compact.length() < target.length(); i++) {
            char c = body.charAt(i);
            if (!Character.isWhitespace(c)) compact.append(c);
        }
        String s = compact.toString();
        return s.length() < target.length() ? target.startsWith(s) : s.equals(target);
    }

    /** Ends the call; returns whether it was one (false: nothing was emitted, the text is content). */
    boolean finish(ToolCallListener out) {
        String s = body.toString().strip();
        JsonNode node;
        try {
            node = JSON.readTree(s);
        } catch (Exception e) {
            node = null;
        }
        if (argsStart >= 0) {
            // Streaming: the arguments run to the outer object's closing brace.
            int close = body.lastIndexOf("}");
            int end = close > emitted ? close : emitted;
            String rest = body.substring(emitted, Math.max(emitted, end)).stripTrailing();
            if (!rest.isEmpty()) out.toolCallArguments(index, rest);
            return true;
        }
        if (node == null || !node.isObject() || !node.path("name").isTextual()) return false;
        JsonNode args = node.has("arguments") ? node.get("arguments") : node.get("parameters");
        String argText;
        if (args == null || args.isNull()) argText = "{}";
        else if (args.isTextual()) argText = args.asText();
        else argText = args.toString();
        out.toolCallBegin(index, ToolCallIds.next(), node.get("name").asText());
        out.toolCallArguments(index, argText);
        return true;
    }
}
