package ai.armature.frontend.tools;

import java.util.List;
import java.util.function.Supplier;

/**
 * The tool-call formats Armature parses, by the names {@code --tool-call-parser} takes (vLLM's): {@code hermes}
 * (Hermes, Qwen 2.5 / 3), {@code llama3_json} (Llama 3.1-3.3), {@code mistral}; and which one a chat template
 * implies.
 */
public final class ToolCallParsers {

    public static final List<String> NAMES = List.of("hermes", "llama3_json", "mistral");

    private ToolCallParsers() {
    }

    /** A factory of parsers for {@code name}; throws IllegalArgumentException naming the supported ones. */
    public static Supplier<ToolCallParser> named(String name) {
        return switch (name) {
            case "hermes" -> HermesToolParser::new;
            case "llama3_json" -> Llama3JsonToolParser::new;
            case "mistral" -> MistralToolParser::new;
            default -> throw new IllegalArgumentException("unknown tool-call parser '" + name + "' (supported: " + String.join(", ", NAMES) + ")");
        };
    }

    /** The parser name a chat template's tool-call syntax implies, or null when it shows none. */
    public static String forTemplate(String templateSource) {
        if (templateSource == null) return null;
        if (templateSource.contains("<tool_call>")) return "hermes";
        if (templateSource.contains("[TOOL_CALLS]")) return "mistral";
        if (templateSource.contains("<|python_tag|>") || templateSource.contains("Environment: ipython")) return "llama3_json";
        return null;
    }
}
