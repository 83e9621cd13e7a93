package ai.armature.engine.chat;

import java.util.List;
import java.util.Map;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on. Messages and tools
 * are given as JSON-like values (maps, lists, strings, numbers, booleans) exactly as an OpenAI client sends them,
 * because templates index them that way ({@code message['content']}, {@code tool_calls}, content-part lists).
 */
public interface ChatTemplate {

    /**
     * Renders {@code messages} (each with at least {@code role}), {@code tools} (may be null) and, when
     * {@code addGenerationPrompt}, the header that asks the model for the assistant's turn.
     *
     * @throws ChatTemplateException when the template rejects the conversation ({@code raise_exception}) or fails
     */
    String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt);

    /**
     * As above, with extra template variables (OpenAI-style {@code chat_template_kwargs}, e.g. Qwen3's
     * {@code enable_thinking}). A template that takes none refuses a non-empty map.
     */
    default String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt,
                          Map<String, Object> extraContext) {
        if (extraContext != null && !extraContext.isEmpty()) {
            throw new ChatTemplateException("this chat template takes no extra variables (chat_template_kwargs)");
        }
        return render(messages, tools, addGenerationPrompt);
    }
}
