package ai.armature.frontend.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Set;

/**
 * Mistral tool calls after the {@code [TOOL_CALLS]} token, to the end of the reply: a JSON array of
 * {@code {"name", "arguments"}} objects (v3 tokenizers), or {@code name[ARGS]{...}} per call (v11 and later).
 * Content before the marker passes on at once; the calls are emitted when the reply ends (they are its tail), with
 * 9-character ids as Mistral's templates require when they come back in the conversation.
 */
final class MistralToolParser implements ToolCallParser {

    static final String MARKER = "[TOOL_CALLS]";
    static final String ARGS = "[ARGS]";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MarkerScanner scanner = new MarkerScanner(MARKER);
    private boolean inCalls;
    private final StringBuilder calls = new StringBuilder();

    @Override
    public Set<String> specialTokens() {
        return Set.of(MARKER, ARGS);
    }

    @Override
    public void accept(String text, ToolCallListener out) {
        if (inCalls) {
            calls.append(text);
            return;
        }
        String before = scanner.scan(text);
        if (!before.isEmpty()) out.content(before);
        if (scanner.found()) {
            inCalls = true;
            calls.append(scanner.rest());
        }
    }

    @Override
    public void finish(ToolCallListener out) {
        if (!inCalls) {
            String held = scanner.drain();
            if (!held.isEmpty()) out.content(held);
            return;
        }
        String s = calls.toString().strip();
        int index = 0;
        try {
            if (s.startsWith("[")) {
                for (JsonNode c : JSON.readTree(s)) emit(out, index++, c.path("name").asText(), c.get("arguments"));
                if (index > 0) return;
            } else {
                for (String part : s.split(java.util.regex.Pattern.quote(MARKER))) {
                    int a = part.indexOf(ARGS);
                    if (a < 0) throw new IllegalArgumentException("no [ARGS]");
                    emit(out, index++, part.substring(0, a).strip(), JSON.readTree(part.substring(a + ARGS.length())));
                }
                return;
            }
        } catch (Exception e) {
            // not calls after all
        }
        if (index == 0) out.content(MARKER + calls);
    }

    private static void emit(ToolCallListener out, int index, String name, JsonNode args) {
        if (name.isEmpty()) throw new IllegalArgumentException("a call without a name");
        out.toolCallBegin(index, ToolCallIds.mistral(), name);
        out.toolCallArguments(index, args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : args.toString());
    }
}
