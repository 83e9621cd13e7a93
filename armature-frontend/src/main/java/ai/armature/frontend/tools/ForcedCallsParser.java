package ai.armature.frontend.tools;

/**
 * The output of a request whose {@code tool_choice} forced a call, which constrained decoding made valid JSON:
 * {@code tool_choice: "required"} writes an array of {@code {"name": ..., "parameters": {...}}} objects (the schema
 * {@code ToolChoiceSchemas} builds), and a named function writes that function's arguments object alone. Either
 * way every call streams as it is generated: the name as soon as it is known, then the arguments in fragments.
 * Text outside the JSON (only possible when the output was cut short) is dropped.
 */
public final class ForcedCallsParser implements ToolCallParser {

    private final String function;
    private final CallObjects calls;
    private boolean begun;

    private ForcedCallsParser(String function) {
        this.function = function;
        this.calls = function == null ? new CallObjects() : null;
    }

    /** For {@code tool_choice: "required"}: an array of calls. */
    public static ForcedCallsParser required() {
        return new ForcedCallsParser(null);
    }

    /** For a named function: the output is its arguments. */
    public static ForcedCallsParser named(String function) {
        return new ForcedCallsParser(function);
    }

    @Override
    public void accept(String text, ToolCallListener out) {
        if (calls != null) {
            calls.accept(text, out);
            return;
        }
        if (!begun) {
            text = text.stripLeading();
            if (text.isEmpty()) return;
            out.toolCallBegin(0, ToolCallIds.next(), function);
            begun = true;
        }
        out.toolCallArguments(0, text);
    }

    @Override
    public void finish(ToolCallListener out) {
        if (calls != null) {
            calls.finish(out);
        } else if (!begun) {
            out.toolCallBegin(0, ToolCallIds.next(), function);
            out.toolCallArguments(0, "");
        }
    }
}
