package ai.armature.cli;

import ai.armature.frontend.ApiOptions;
import ai.armature.frontend.tools.ReasoningParser;
import ai.armature.frontend.tools.ToolCallParsers;
import picocli.CommandLine.Option;

/**
 * How the frontend parses chat output for tool calls and reasoning and how many Responses API responses it keeps,
 * shared by {@code serve} and {@code frontend}.
 */
final class ApiFlags {

    @Option(names = "--tool-call-parser",
            description = {"The tool-call format to parse from the model's output under tool_choice auto: "
                    + "hermes (Hermes, Qwen 2.5/3), llama3_json (Llama 3.1-3.3), mistral.",
                    "Default: the format the model's chat template shows (none: tool_choice auto is refused;",
                    "required and named calls are constrained to valid JSON and need no parser)."})
    String toolCallParser;

    @Option(names = "--reasoning-parser",
            description = {"Split <think>...</think> reasoning into reasoning_content: deepseek_r1 (DeepSeek-R1 and its",
                    "distills, which may start thinking without the opening tag), qwen3. Default: none (reasoning stays in content)."})
    String reasoningParser;

    @Option(names = "--responses-store-size", defaultValue = "" + ApiOptions.DEFAULT_RESPONSES_STORE_SIZE,
            description = {"Responses API responses kept in memory for previous_response_id and GET /v1/responses/ID",
                    "(the least recently used beyond it are dropped; 0: none). Default: ${DEFAULT-VALUE}."})
    int responsesStoreSize;

    /** The options; a name that is not supported is a one-line error listing those that are. */
    ApiOptions options() {
        if (toolCallParser != null && !ToolCallParsers.NAMES.contains(toolCallParser)) {
            throw new IllegalArgumentException("--tool-call-parser must be one of " + String.join(", ", ToolCallParsers.NAMES)
                    + ", got '" + toolCallParser + "'");
        }
        if (reasoningParser != null && !ReasoningParser.NAMES.contains(reasoningParser)) {
            throw new IllegalArgumentException("--reasoning-parser must be one of " + String.join(", ", ReasoningParser.NAMES)
                    + ", got '" + reasoningParser + "'");
        }
        if (responsesStoreSize < 0) throw new IllegalArgumentException("--responses-store-size must be >= 0, got " + responsesStoreSize);
        return new ApiOptions(toolCallParser, reasoningParser, responsesStoreSize);
    }
}
