package ai.armature.frontend;

import ai.armature.frontend.tools.ReasoningParser;
import ai.armature.frontend.tools.ToolCallParsers;

/**
 * How the frontend reads models' chat output and keeps API state: {@code toolCallParser} names the tool-call format
 * to parse ({@code --tool-call-parser}; null: the one each model's chat template shows, if any),
 * {@code reasoningParser} the reasoning format ({@code --reasoning-parser}; null: reasoning is left in the content),
 * and {@code responsesStoreSize} how many Responses API responses are kept for {@code previous_response_id} and
 * {@code GET /v1/responses/{id}} ({@code --responses-store-size}; the least recently used beyond it are dropped).
 */
public record ApiOptions(String toolCallParser, String reasoningParser, int responsesStoreSize) {

    public static final int DEFAULT_RESPONSES_STORE_SIZE = 1000;
    public static final ApiOptions DEFAULTS = new ApiOptions(null, null, DEFAULT_RESPONSES_STORE_SIZE);

    /** The parsers, with the default store size. */
    public ApiOptions(String toolCallParser, String reasoningParser) {
        this(toolCallParser, reasoningParser, DEFAULT_RESPONSES_STORE_SIZE);
    }

    public ApiOptions {
        if (toolCallParser != null && !ToolCallParsers.NAMES.contains(toolCallParser)) {
            throw new IllegalArgumentException("unknown tool-call parser '" + toolCallParser + "' (supported: "
                    + String.join(", ", ToolCallParsers.NAMES) + ")");
        }
        if (reasoningParser != null && !ReasoningParser.NAMES.contains(reasoningParser)) {
            throw new IllegalArgumentException("unknown reasoning parser '" + reasoningParser + "' (supported: "
                    + String.join(", ", ReasoningParser.NAMES) + ")");
        }
        if (responsesStoreSize < 0) throw new IllegalArgumentException("the responses store size must be >= 0, got " + responsesStoreSize);
    }
}
