package ai.armature.frontend;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.chat.JinjaChatTemplate;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.frontend.tools.ReasoningParser;
import ai.armature.frontend.tools.ToolCallParser;
import ai.armature.frontend.tools.ToolCallParsers;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Supplier;

/**
 * How one served model's chat output is parsed: its tool-call parser ({@code --tool-call-parser}, or the format its
 * chat template shows; null: none), its reasoning parser's name (null: none), and the control tokens whose text
 * must stay in the decoded output for those parsers to see (such as {@code <|python_tag|>}).
 */
record OutputParsing(String toolParserName, Supplier<ToolCallParser> toolParser, String reasoningParser, int[] renderedIds) {

    static final OutputParsing NONE = new OutputParsing(null, null, null, new int[0]);

    /** The parsing {@code options} ask for on a model with this tokenizer and template. */
    static OutputParsing of(ApiOptions options, Tokenizer tokenizer, ChatTemplate template) {
        String toolName = options.toolCallParser();
        if (toolName == null && template instanceof JinjaChatTemplate j && !j.isFallback()) toolName = ToolCallParsers.forTemplate(j.source());
        Supplier<ToolCallParser> tools = toolName == null ? null : ToolCallParsers.named(toolName);
        Set<String> markers = new LinkedHashSet<>();
        if (tools != null) markers.addAll(tools.get().specialTokens());
        if (options.reasoningParser() != null) markers.addAll(Set.of(ReasoningParser.OPEN, ReasoningParser.CLOSE));
        int[] ids = markers.stream().mapToInt(tokenizer::tokenId)
                .filter(id -> id >= 0 && tokenizer.decode(new int[] {id}, false).isEmpty()).toArray();
        return new OutputParsing(toolName, tools, options.reasoningParser(), ids);
    }
}
