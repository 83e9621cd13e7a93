package ai.armature.frontend;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.chat.ChatTemplateException;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** A ChatML-style template for tests; it refuses unknown roles, as real templates do with raise_exception. */
final class ImChatTemplate implements ChatTemplate {

    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

    @Override
    public String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> m : messages) {
            Object role = m.get("role");
            if (!ROLES.contains(role)) throw new ChatTemplateException("unsupported role '" + role + "'");
            Object content = m.get("content");
            sb.append("<|im_start|>").append(role).append('\n').append(content == null ? "" : content).append("<|im_end|>\n");
        }
        if (addGenerationPrompt) sb.append("<|im_start|>assistant\n");
        return sb.toString();
    }
}
