package ai.armature.frontend.tools;

/**
 * Receives what a {@link ToolCallParser} makes of a model's output, in order: plain content, and tool calls as
 * OpenAI streams them (a call begins with its index, id and function name; its arguments, a JSON text, follow in
 * fragments whose concatenation is the whole).
 */
public interface ToolCallListener {

    void content(String text);

    void toolCallBegin(int index, String id, String name);

    void toolCallArguments(int index, String fragment);
}
